"""Operator commands: `flask --app wsgi create-user`, `flask --app wsgi seed-demo`, and every job of crm.jobs."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask

from crm.extensions import db
from crm.models import Role, User


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    register_suitability_commands(app)
    register_job_commands(app)
    register_asset_commands(app)
    register_setup_commands(app)
    register_session_commands(app)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
    @click.option("--clients", "n_clients", default=200, show_default=True)
    def seed_demo(if_empty: bool, n_clients: int) -> None:
        """Load two demo teams and about 200 clients as three months into using the app (demo only)."""
        from crm.seed import DEMO_PASSWORD, DEMO_USERNAMES, seed

        if db.session.execute(sa.select(User.id).limit(1)).first() is not None:
            if if_empty:
                click.echo("Database already has users: demo data not loaded.")
                return
            raise click.ClickException("the database is not empty; demo data goes into an empty one")
        summary = seed(n_clients=n_clients)
        db.session.commit()
        click.echo(f"Demo data loaded: {summary}.")
        click.echo(f"DEMO ONLY sign-ins (password {DEMO_PASSWORD}): {', '.join(DEMO_USERNAMES)}")


def register_suitability_commands(app: Flask) -> None:
    """Commands to load the risk questionnaire."""

    @app.cli.command("load-questionnaire")
    @click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
    @click.option("--if-none", is_flag=True, help="Do nothing when a questionnaire is already loaded.")
    def load_questionnaire(path: str | None, if_none: bool) -> None:
        """Publish a questionnaire version from a text file (default: the shipped Chinese one)."""
        from crm.domain.questionnaire_text import QuestionnaireError, parse_questionnaire
        from crm.services import suitability

        if if_none and suitability.questionnaire_versions():
            click.echo("A questionnaire is already loaded: nothing done.")
            return
        text = Path(path).read_text(encoding="utf-8") if path else suitability.default_questionnaire_text()
        try:
            parsed = parse_questionnaire(text)
        except QuestionnaireError as exc:
            for error in exc.errors:
                click.echo(f"line {error.line}: {error.code} {error.detail or ''}", err=True)
            raise click.ClickException("the questionnaire was not loaded") from None
        version = suitability.create_questionnaire(parsed, None, activate=True)
        db.session.commit()
        click.echo(f"Questionnaire version {version.version} published: {len(parsed.questions)} questions.")


def register_asset_commands(app: Flask) -> None:
    """Command to import the back office's asset snapshots."""

    @app.cli.command("import-assets")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def import_assets(path: str) -> None:
        """Import a CSV of total assets per client and date: every row or none; then re-tier clients."""
        import sys

        from flask_babel import force_locale

        from crm.routes import refusals
        from crm.services import assets

        with Path(path).open("rb") as handle:
            # Counted piece by piece for the progress bar: the file is never held in memory whole.
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
            handle.seek(0)
            try:
                with assets.one_import_at_a_time(None), click.progressbar(
                        length=max(lines, 1), label="Checking rows", file=sys.stderr) as bar:
                    result = assets.import_assets(handle, None, progress=bar.update)
                    if result.ok:
                        db.session.commit()
                    else:
                        db.session.rollback()
            except assets.ImportRunning as running:
                raise click.ClickException(f"another import from the command line is running since "
                                           f"{running.since:%Y-%m-%d %H:%M} UTC; try again when it has finished") from None
        if not result.ok:
            with force_locale("en"):  # the language of the command line
                for error in result.errors:
                    where = f"line {error.line}" if error.line else "file"
                    click.echo(f"{where}: {refusals.text(error)}", err=True)
            if result.error_count > len(result.errors):
                click.echo(f"... and {result.error_count - len(result.errors)} more errors.", err=True)
            click.echo(f"Nothing imported: {result.error_count} errors in {path}.", err=True)
            raise SystemExit(1)
        click.echo(f"Imported {result.rows} rows for {result.clients} clients: {result.inserted} new, "
                   f"{result.updated} updated, {result.unchanged} unchanged; "
                   f"{result.tier_changes} tier changes.")


def register_job_commands(app: Flask) -> None:
    """Every job in the registry (crm.jobs.JOBS) as a command, and the scheduler that runs them.

    By hand a slot job's command runs at once under a run key of its own and leaves the scheduled slot
    to the scheduler; cron, when it is the scheduler, passes `--scheduled` to claim the slot exactly once.
    A pass job's command (`send-email`) runs one pass, or keeps running with `--every`.
    """
    from crm import jobs

    for job in jobs.JOBS:
        app.cli.add_command(job_command(app, job) if job.exactly_once else pass_command(app, job))

    @app.cli.command("scheduler")
    @click.option("--for-seconds", type=float, default=None, help="Stop after this long (smoke tests).")
    def scheduler(for_seconds: float | None) -> None:
        """Run the long-lived scheduler process (scan, plans, reminders, digests, call-back sample)."""
        import logging

        from crm import scheduler as runner

        # force: the app factory may have set up logging already; the scheduler's lines need their times.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our own lines name each run and its outcome
        from crm.config import log_warnings, scheduler_warnings

        log_warnings(scheduler_warnings(app.config))
        runner.run(app, for_seconds=for_seconds)


def with_options(job, command: Callable) -> Callable:
    """Add the job's declared options (`--year`, `--limit` ...) to its command."""
    for option in reversed(job.options):
        command = click.option(f"--{option.name}", type=option.type, default=option.default,
                               show_default=option.default is not None, help=option.help)(command)
    return command


def summary(job) -> str:
    """The job's summary in English, the language of the command line."""
    from flask_babel import force_locale

    with force_locale("en"):
        return str(job.summary)


def job_command(app: Flask, job) -> click.Command:
    """`flask <job>`: a run by hand, or with --scheduled the job's scheduled slot."""
    from crm import jobs
    from crm.services import audit, heartbeats

    @click.option("--scheduled", is_flag=True,
                  help="Claim the current scheduled slot, once across servers (for cron used as the scheduler).")
    @click.option("--force", is_flag=True, hidden=True, help="Kept for old scripts: a run by hand always runs.")
    def command(scheduled: bool, force: bool, **options) -> None:
        from crm.models import utcnow

        now = utcnow()
        slot = job.run_key(now, app.config, options)
        if scheduled and not force:
            with audit.process_source("scheduler"):  # cron is the scheduler: its audit rows say so
                result = jobs.run_scheduled(job, now, app.config, options)
        else:
            result = jobs.run_by_hand(job, now, app.config, options=options)
        if job.beats and result.ran:
            heartbeats.beat(app.config, pass_at=now, pass_outcome=result.outcome)
        click.echo(describe_run(job, result, scheduled and not force, slot))

    help_text = f"{summary(job)} Scheduled {job.describe(app.config)} (Asia/Shanghai)."
    return click.command(job.name, help=help_text)(with_options(job, command))


def pass_command(app: Flask, job) -> click.Command:
    """`flask <job>` of a pass job: one pass, or with --every one pass every N seconds until stopped."""
    import time

    from crm import jobs
    from crm.services import heartbeats

    @click.option("--every", type=click.IntRange(min=0), default=0, show_default=True,
                  help="Keep running, one pass every N seconds (0: one pass, then exit).")
    def command(every: int, **options) -> None:
        from crm.models import utcnow

        while True:
            started = utcnow()
            outcome = jobs.run_pass(job, options)
            if job.beats:
                heartbeats.beat(app.config, pass_at=started, pass_outcome=f"{job.name}: {outcome}")
            if not (every and outcome.idle):  # a repeating pass with nothing to do says nothing
                click.echo(outcome.notice())
            if not every:
                return
            time.sleep(every)

    return click.command(job.name, help=summary(job))(with_options(job, command))


def describe_run(job, result, scheduled: bool, slot: str) -> str:
    """What a job command did, in the operator's words: which slot, and whether it ran."""
    from crm.services import job_runs

    if not scheduled:
        return (f"{job.name}: run by hand (run key {result.run_key}); the scheduled run {slot} is left to "
                f"the scheduler.\n{result.outcome}")
    if result.ran:
        return f"{job.name} {slot}: scheduled run done.\n{result.outcome}"
    claimed = job_runs.slot_claimed(job.name, slot)
    who = f" by {claimed.owner} at {claimed.started_at:%Y-%m-%d %H:%M:%S} UTC" if claimed else ""
    return (f"{job.name} {slot}: already run by another process{who}; nothing done. "
            f"Run it without --scheduled to run it again by hand.")


def register_setup_commands(app: Flask) -> None:
    """Setting up a deployment without the browser, in the order the data needs: outlet, team, users."""

    @app.cli.command("create-outlet")
    @click.option("--bank", required=True, help="e.g. 工商银行")
    @click.option("--branch", required=True, help="e.g. 朝阳支行")
    @click.option("--city", required=True)
    @click.option("--if-absent", is_flag=True, help="Do nothing (exit 0) when this outlet exists already.")
    def create_outlet(bank: str, branch: str, city: str, if_absent: bool) -> None:
        """Add a bank outlet (Admin → Outlets); users' default outlet is chosen from these."""
        from crm.services import users

        bank, branch = bank.strip(), branch.strip()
        if _outlet_by_label(f"{bank} {branch}") is not None:
            if if_absent:
                click.echo(f"Outlet {bank} {branch} exists already: nothing done.")
                return
            raise click.ClickException(f"outlet {bank} {branch} exists already")
        users.create_outlet(None, bank, branch, city)  # audited, as on Admin → Outlets
        db.session.commit()
        click.echo(f"Created outlet {bank} {branch}.")

    @app.cli.command("create-team")
    @click.argument("name")
    @click.option("--if-absent", is_flag=True, help="Do nothing (exit 0) when this team exists already.")
    def create_team(name: str, if_absent: bool) -> None:
        """Add a team (Admin → Teams); managers and team leads must belong to one."""
        from crm.services import users

        name = name.strip()
        if not name:
            raise click.BadParameter("the team needs a name", param_hint="NAME")
        if _team_by_name(name) is not None:
            if if_absent:
                click.echo(f"Team {name} exists already: nothing done.")
                return
            raise click.ClickException(f"team {name} exists already")
        users.create_team(None, name)  # audited, as on Admin → Teams
        db.session.commit()
        click.echo(f"Created team {name}.")

    @app.cli.command("create-user")
    @click.option("--username", prompt=True)
    @click.option("--display-name", prompt=True)
    @click.option("--email", default="", prompt="Email (optional)", show_default=False)
    @click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value,
                  show_default=True)
    @click.option("--team", "team_name", default="", help="Team name (required for manager and lead).")
    @click.option("--outlet", "outlet_label", default="",
                  help='Default outlet as "bank branch", e.g. "工商银行 朝阳支行".')
    @click.password_option(envvar="CRM_NEW_USER_PASSWORD",
                           help="Prompted when not given; or set CRM_NEW_USER_PASSWORD (not on the command line).")
    def create_user(username: str, display_name: str, email: str, role: str, team_name: str, outlet_label: str,
                    password: str) -> None:
        """Create a user: the first admin, then leads and managers in their team."""
        from flask_babel import force_locale

        from crm.forms.auth import password_messages
        from crm.services.users import create_user as make_user
        from crm.services.users import username_taken

        with force_locale("en"):
            refused = password_messages(password, username, display_name)
        if refused:
            raise click.BadParameter(" ".join(refused), param_hint="password")
        if username_taken(username):
            raise click.ClickException(f"user {username!r} exists already")
        team = _team_by_name(team_name.strip()) if team_name.strip() else None
        if team_name.strip() and team is None:
            raise click.ClickException(f"no team {team_name!r}: create it first with create-team")
        if role in (Role.MANAGER.value, Role.LEAD.value) and team is None:
            # The same rule as Admin → Users: managers and team leads belong to a team.
            raise click.ClickException(f"a {role} belongs to a team: give --team (create it with create-team)")
        outlet = _outlet_by_label(outlet_label) if outlet_label.strip() else None
        if outlet_label.strip() and outlet is None:
            raise click.ClickException(f"no outlet {outlet_label!r}: create it first with create-outlet")
        make_user(username, display_name, password, role, email=email, team=team, outlet=outlet)
        db.session.commit()
        where = "".join([f" in team {team.name}" if team else "", f" at {outlet.label}" if outlet else ""])
        click.echo(f"Created {role} {username!r}{where}.")


def register_session_commands(app: Flask) -> None:
    """Ending sessions from the command line: a lost phone when no admin can sign in, or after a key change."""

    @app.cli.command("end-sessions")
    @click.argument("username", required=False)
    @click.option("--all", "everyone", is_flag=True, help="End every user's sessions (e.g. after a breach).")
    def end_sessions(username: str | None, everyone: bool) -> None:
        """End every session and "keep me signed in" cookie of USERNAME (or of everyone with --all)."""
        from crm.models import User
        from crm.services import sessions
        from crm.services.users import find_user

        if bool(username) == everyone:
            raise click.UsageError("give a USERNAME or --all (not both)")
        if everyone:
            people = db.session.execute(sa.select(User).order_by(User.id)).scalars().all()
        else:
            person = find_user(username)
            if person is None:
                raise click.ClickException(f"no user {username!r}")
            people = [person]
        # Audited per user who had a live session (actor: none, source: cli).
        total = sum(sessions.end_all(person, "operator", None) for person in people if sessions.live_sessions(person))
        db.session.commit()
        who = "every user" if everyone else repr(people[0].username)
        click.echo(f"Ended {total} live session(s) of {who}; their next request goes to sign-in.")


def _team_by_name(name: str):
    """The team with exactly this name, or None."""
    from crm.models import Team

    return db.session.execute(sa.select(Team).where(Team.name == name)).scalar_one_or_none()


def _outlet_by_label(label: str):
    """The outlet whose "bank branch" label is this (spaces around ignored), or None."""
    from crm.models import Outlet

    wanted = " ".join(label.split())
    for outlet in db.session.execute(sa.select(Outlet)).scalars():
        if " ".join(outlet.label.split()) == wanted:
            return outlet
    return None
