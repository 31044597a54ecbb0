"""The production steps as documented: every command they name exists, and deploy/check-production.sh runs
them for real (PostgreSQL, Redis, gunicorn with 2 workers, the scheduler, backup, restore, upgrade)."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).with_name("flask")
STEPS = ["tools", "database", "env file", "db upgrade", "setup", "load-questionnaire", "redis", "gunicorn",
         "scheduler", "healthz", "sign-in", "backup", "restore", "upgrade", "rollback", "redis down", "stop"]


def _production_text() -> str:
    """The README's production section and the operator's guide."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Running it for real")
    end = readme.index("\n## ", start + 1)
    return readme[start:end] + (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def _documented_commands(text: str) -> set[tuple[str, ...]]:
    """(command,) or ("db", sub) for each `flask --app wsgi …` or `crm …` the operator is told to run."""
    found = set()
    for match in re.finditer(r"(?:flask --app wsgi|(?:^|[;&|(`]\s*|\s{2,})crm)\s+([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?",
                             text, flags=re.MULTILINE):
        command, sub = match.group(1), match.group(2)
        found.add(("db", sub) if command == "db" and sub else (command,))
    return found


def _help_commands(*args: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_") or k == "CRM_SECRET_KEY"}
    out = subprocess.run([str(FLASK), "--app", "wsgi", *args, "--help"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    commands = out.split("Commands:", 1)[1]
    return {line.split()[0] for line in commands.splitlines() if line.strip()}


def test_every_command_of_the_production_steps_exists_in_flask_help():
    documented = _documented_commands(_production_text())
    assert {("db", "upgrade"), ("create-outlet",), ("create-team",), ("create-user",),
            ("load-questionnaire",), ("db", "downgrade"), ("db", "current")} <= documented
    top, db = _help_commands(), _help_commands("db")
    missing = sorted(" ".join(c) for c in documented
                     if (c[0] not in top) or (len(c) == 2 and c[1] not in db))
    assert missing == []


def test_the_units_run_two_gunicorn_workers_and_the_scheduler_on_one_env_file():
    web = (ROOT / "deploy" / "outlet-crm-web.service").read_text()
    scheduler = (ROOT / "deploy" / "outlet-crm-scheduler.service").read_text()
    assert re.search(r"^ExecStart=\S*/gunicorn .*--workers 2 .*wsgi:app$", web, flags=re.MULTILINE)
    assert re.search(r"^ExecStart=\S*/flask --app wsgi scheduler$", scheduler, flags=re.MULTILINE)
    env_line = "Environment=CRM_CONFIG_FILE=/etc/outlet-crm/crm.env"
    assert env_line in web.splitlines() and env_line in scheduler.splitlines()


def _postgres_reachable() -> bool:
    if shutil.which("psql") is None:
        return False
    env = {**os.environ, "PGCONNECT_TIMEOUT": "3"}
    return subprocess.run(["psql", "-X", "-h", os.environ.get("PGHOST", "127.0.0.1"), "-U",
                           os.environ.get("PGUSER", "postgres"), "-d", "postgres", "-c", "SELECT 1"],
                          env=env, capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("CRM_TEST_DATABASE_URL")),
                    reason="runs once, in the SQLite pass of `make test`: it makes its own PostgreSQL databases")
def test_check_production_runs_every_documented_step_on_this_machine():
    missing = [tool for tool in ("redis-server", "redis-cli", "curl", "pg_dump", "pg_restore")
               if shutil.which(tool) is None]
    if missing or not _postgres_reachable():
        pytest.skip(f"needs PostgreSQL on 127.0.0.1:5432 and {', '.join(missing) or 'its tools'}")
    env = {**os.environ, "VENV": str(Path(sys.executable).parent.parent)}
    # Its own process group: if it hangs, the script and the servers it started are stopped together
    # (the script's trap then drops its databases).
    process = subprocess.Popen([str(ROOT / "deploy" / "check-production.sh")], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        pytest.fail("deploy/check-production.sh did not finish within 10 minutes:\n" + output)
    assert process.returncode == 0, output
    passed = [line.split(None, 2)[2].split(":")[0] for line in output.splitlines() if line.startswith("ok ")]
    assert passed == STEPS
    assert output.rstrip().endswith("all production steps passed")
