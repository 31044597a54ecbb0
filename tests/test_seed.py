"""The demo a newcomer judges the product by: `make run`'s steps give a team three months into its work."""
from __future__ import annotations

import shutil
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm import create_app
from crm.domain.formats import normalize_mobile
from crm.extensions import db
from crm.models import (
    Client,
    ClientFlag,
    Complaint,
    FollowUp,
    FollowUpStatus,
    OwnerChange,
    Role,
    ServicePlan,
    User,
    VisitLog,
    utcnow,
)
from crm.seed import DEMO_PASSWORD, DEMO_USERNAMES, seed
from crm.services import complaints, followups, plans, suitability
from crm.services.access import client_visibility
from crm.services.users import authenticate
from tests import conftest

# The steps of `make run` after `db upgrade`, through the real commands.
MAKE_RUN = (["seed-demo", "--if-empty"], ["load-questionnaire", "--if-none"], ["scan-clients"], ["plan-followups"])
REFERENCE_TABLES = ("tiers", "plan_templates", "plan_template_items")


def _config(url: str) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://", "CRM_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}


def _empty_demo_tables() -> None:
    """Delete every row the seed wrote (the migrations' reference rows stay)."""
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in REFERENCE_TABLES:
            db.session.execute(table.delete())
    db.session.commit()
    db.session.expunge_all()


@pytest.fixture(scope="module")
def demo_app(database_template, tmp_path_factory):
    """One database filled by `make run`'s steps, shared by this module's read-only tests."""
    if conftest.PG_URL:
        url = conftest.PG_URL
    else:
        path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
        shutil.copyfile(database_template, path)
        url = f"sqlite:///{path}"
    app = create_app(_config(url))
    runner = app.test_cli_runner()
    with app.app_context():
        for args in MAKE_RUN:
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        if conftest.PG_URL:
            _empty_demo_tables()  # the next test expects an empty database
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def demo(demo_app):
    """An app context on the demo database."""
    with demo_app.app_context():
        yield demo_app
        db.session.remove()


def _fingerprint() -> dict:
    counts = {table.name: db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
              for table in db.metadata.sorted_tables}
    names = db.session.execute(sa.select(Client.name, Client.mobile, Client.stage).order_by(Client.name)).all()
    return {"counts": counts, "clients": [tuple(row) for row in names]}


# First in the module: on PostgreSQL it shares the database, which must be empty before the demo is loaded.
def test_the_seed_gives_the_same_demo_for_the_same_moment(app):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
    seed(n_clients=60, now=now)
    db.session.commit()
    first = _fingerprint()
    _empty_demo_tables()
    seed(n_clients=60, now=now)
    db.session.commit()
    assert _fingerprint() == first


def _user(username: str) -> User:
    return db.session.execute(sa.select(User).where(User.username == username)).scalar_one()


def _managers() -> list[User]:
    return list(db.session.execute(sa.select(User).where(User.role == Role.MANAGER.value).order_by(User.id)).scalars())


def test_each_manager_has_a_handful_of_overdue_follow_ups(demo):
    overdue = {m.username: len(followups.today_view(m).overdue) for m in _managers()}
    assert len(overdue) == 3
    assert all(1 <= n <= 10 for n in overdue.values()), overdue


def test_each_manager_has_work_coming_up(demo):
    for manager in _managers():
        view = followups.today_view(manager)
        assert view.today or view.upcoming, manager.username


def test_plans_started_weeks_ago_have_done_and_missed_occurrences(demo):
    today = plans.local_today()
    active = list(db.session.execute(sa.select(ServicePlan).where(ServicePlan.status == "active")).scalars())
    assert len(active) >= 10
    assert all(plan.started_on <= today - timedelta(days=21) for plan in active)
    progress = [plans.progress(plan) for plan in active]
    assert any(p.done > 0 and p.missed > 0 for p in progress)
    assert sum(p.done for p in progress) > 10 * sum(p.missed for p in progress) > 0


def test_done_follow_ups_are_done_by_the_visits_logged_for_them(demo):
    done = list(db.session.execute(sa.select(FollowUp).where(
        FollowUp.status == FollowUpStatus.DONE.value, FollowUp.kind != "complaint")).scalars())
    assert len(done) > 300
    visits = {v.id: v for v in db.session.execute(sa.select(VisitLog)).scalars()}
    for followup in done:
        visit = visits[followup.completed_visit_id]
        assert visit.client_id == followup.client_id
        assert visit.occurred_at == followup.completed_at < utcnow()


def test_a_complaint_is_due_within_one_working_day(demo):
    countdowns = [complaints.countdown(c) for c in db.session.execute(sa.select(Complaint)).scalars()]
    assert any(c is not None and not c.overdue and c.working_days <= 1 for c in countdowns)


def test_one_complaint_is_closed_with_satisfaction_and_one_is_escalated(demo):
    found = list(db.session.execute(sa.select(Complaint)).scalars())
    assert any(c.status == "closed" and c.satisfaction and c.accepted for c in found)
    assert any(c.escalation_level >= 1 and complaints.is_overdue(c) for c in found)


def test_a_realistic_share_of_clients_is_flagged_after_the_scan(demo):
    clients = db.session.execute(sa.select(sa.func.count()).select_from(Client)).scalar_one()
    flagged = db.session.execute(sa.select(sa.func.count(sa.distinct(ClientFlag.client_id)))
                                 .where(ClientFlag.cleared_at.is_(None))).scalar_one()
    assert 0.05 <= flagged / clients <= 0.15, (flagged, clients)
    kinds = Counter(db.session.execute(sa.select(ClientFlag.kind).where(ClientFlag.cleared_at.is_(None))).scalars())
    assert kinds["dormant"] and kinds["at_risk"]


def test_no_manager_has_more_than_a_fifth_of_their_clients_flagged(demo):
    for manager in _managers():
        owned = db.session.execute(sa.select(sa.func.count()).select_from(Client)
                                   .where(Client.owner_id == manager.id)).scalar_one()
        flagged = db.session.execute(
            sa.select(sa.func.count(sa.distinct(ClientFlag.client_id))).join(Client, Client.id == ClientFlag.client_id)
            .where(ClientFlag.cleared_at.is_(None), Client.owner_id == manager.id)).scalar_one()
        assert flagged <= owned // 5, (manager.username, flagged, owned)


def test_every_mobile_is_valid_unique_and_not_a_made_up_sequence(demo):
    mobiles = list(db.session.execute(sa.select(Client.mobile)).scalars())
    # The 200 of the book and the visitors who registered through the QR cards since.
    registered = db.session.execute(sa.select(sa.func.count()).select_from(Client)
                                    .where(Client.source_channel == "qr_self_registration")).scalar_one()
    assert registered == 4
    assert len(mobiles) == 200 + registered == len(set(mobiles))
    for mobile in mobiles:
        assert normalize_mobile(mobile) == mobile
        assert not any(len(set(mobile[i:i + 4])) == 1 for i in range(3, 8)), mobile


def test_a_reassignment_is_in_the_client_history(demo):
    change = db.session.execute(sa.select(OwnerChange)).scalars().one()
    assert change.reason and change.changed_at < utcnow() - timedelta(days=14)
    assert db.session.get(Client, change.client_id).owner_id == change.to_owner_id


def test_some_assessments_expire_within_the_month(demo):
    now = utcnow()
    expiring = suitability.expiring_clients(_user("admin"))
    assert any(now < c.risk_expires_at <= now + timedelta(days=30) for c in expiring)
    assert any(c.risk_expires_at <= now for c in expiring)


def test_demo_users_sign_in_with_the_password_the_readme_gives(demo):
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"`{DEMO_PASSWORD}`" in readme
    for username in DEMO_USERNAMES:
        assert f"`{username}`" in readme
        assert authenticate(username, DEMO_PASSWORD) is not None, username


def test_each_lead_sees_only_their_own_teams_clients(demo):
    for lead, managers in (("lead", {"manager1", "manager2"}), ("lead2", {"manager3"})):
        owners = set(db.session.execute(
            sa.select(User.username).join(Client, Client.owner_id == User.id)
            .where(client_visibility(_user(lead)))).scalars())
        assert owners == managers, lead


@pytest.mark.parametrize(("yuan", "fen"), [(4.35, 435), (0.29, 29), (1.005, 101), (123456.789, 12345679), (30000.0, 3000000)])
def test_demo_amounts_become_whole_fen_rounded_not_truncated(yuan, fen):
    from crm.seed.history import fen as to_fen

    assert to_fen(yuan) == fen
