"""Every route in the URL map, asked by every persona, answers as docs/access.md says.

One world: team A (lead A, managers A1, A2 and A3, who holds a follow-up handed over on A1's client),
team B (lead B, manager B1), an admin; A1's client with a visit, follow-ups, a complaint, a service
plan, a needs profile, an assessment, a recommendation and an asset snapshot; B1's client; the
admin's records (outlet, team, product, questionnaire, plan template, calendar override, outbox email).
Each persona asks about A1's records. Every request starts from the same saved world, so a POST
that goes through cannot change what the next persona finds.

A rule added to the app without a row in ACCESS fails `test_every_route_has_an_entry`.
"""
from __future__ import annotations

import shutil
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from crm import create_app
from crm.extensions import db
from crm.models import (
    CheckIn,
    CoverageException,
    CoveragePattern,
    OutboxEmail,
    Partner,
    PartnerContact,
    Product,
    QrCard,
    Role,
    User,
    UserSession,
    utcnow,
)
from crm.services import assets, complaints, followups, plans, profiles, suitability
from tests import conftest, factories
from tests.factories import PASSWORD, make_client, make_visit

# ------------------------------------------------------------------ the answers

OK = "ok"           # 200, or a redirect to a page other than sign-in; for a POST also 400/409/413/422
LOGIN = "login"     # sent to the sign-in page
FORBIDDEN = "403"
NOT_FOUND = "404"

# Who asks, always about A1's records. "peer" is A2 (same team), "other_team" B1; "assignee" is A3,
# who holds an open follow-up on A1's client (handed over by lead A) and nothing else of A1's.
PERSONAS = ("anonymous", "own", "peer", "other_team", "lead", "other_lead", "admin", "assignee")
USERNAMES = {"anonymous": None, "own": "manager1", "peer": "manager2", "other_team": "othermanager",
             "lead": "lead", "other_lead": "otherlead", "admin": "admin", "assignee": "manager3"}


def answers(anonymous, own, peer, other_team, lead, other_lead, admin, assignee) -> dict[str, str]:
    """The expected answer class of each persona, in PERSONAS order."""
    return dict(zip(PERSONAS, (anonymous, own, peer, other_team, lead, other_lead, admin, assignee), strict=True))


# The rows of docs/access.md (and of the role checks in docs/operations and the routes' docstrings).
PUBLIC = answers(OK, OK, OK, OK, OK, OK, OK, OK)
SIGNED_IN = answers(LOGIN, OK, OK, OK, OK, OK, OK, OK)
ADMIN_ONLY = answers(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN)
LEADS_AND_ADMIN = answers(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN)
# Anyone who may see the client: owner, the owner's lead, admin, and the assignee of an open follow-up.
CLIENT = answers(LOGIN, OK, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, OK, OK)
# The client's book only (edit, stage, plan work, the service plan): an assignee knows the client: 403.
CLIENT_BOOK = answers(LOGIN, OK, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, OK, FORBIDDEN)
# Reassigning is a lead's or admin's: the page does not exist for a manager, even on their own client.
REASSIGN = answers(LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, OK, NOT_FOUND)
# A1's follow-up, or A1's complaint: its assignee/handler, their lead, admin.
A1_RECORD = answers(LOGIN, OK, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, OK, NOT_FOUND)
# Moving a complaint's deadline: a lead or compliance who may see the complaint.
COMPLAINT_SUPERVISOR = answers(LOGIN, FORBIDDEN, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, OK, NOT_FOUND)
# One of A1's sessions (A1's phone): "my sessions" ends one's own only; anyone else's id is a 404,
# an admin's too (the admin signs a user out everywhere from the user's page).
OWN_SESSION = answers(LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND)
# Signing out: a visitor is sent to sign in; anyone signed in is signed out (and then sent to sign in).
SIGN_OUT = answers(LOGIN, OK, OK, OK, OK, OK, OK, OK)


@dataclass(frozen=True)
class Entry:
    """What one method of one rule answers each persona, and how to ask it."""

    expect: dict[str, str]
    data: dict = field(default_factory=dict)  # the POST form: empty or minimal, it is about authorisation
    query: str = ""                           # placeholders name World ids, like the path's arguments
    params: dict = field(default_factory=dict)  # path argument -> World id name, where it is not the default


# "METHOD rule" -> Entry, for every rule of app.url_map but `static`.
ACCESS: dict[str, Entry] = {
    # sign-in, language, settings, health
    "GET /": Entry(SIGNED_IN),
    "GET /healthz": Entry(PUBLIC),
    "GET /login": Entry(PUBLIC),  # someone signed in is sent home
    "POST /login": Entry(PUBLIC),
    "POST /logout": Entry(SIGN_OUT),
    "POST /language/<code>": Entry(PUBLIC, params={"code": "language"}),
    "GET /settings": Entry(SIGNED_IN),
    "POST /settings": Entry(SIGNED_IN),
    "GET /settings/sessions": Entry(SIGNED_IN),
    "POST /settings/sessions/<int:session_id>/end": Entry(OWN_SESSION),
    "POST /settings/sessions/end-others": Entry(SIGNED_IN),
    "POST /session/keep-alive": Entry(SIGNED_IN),
    "GET /session/status": Entry(PUBLIC),  # signed in or not, with the seconds left; asking is no activity

    # clients
    "GET /clients": Entry(SIGNED_IN),
    "GET /clients/new": Entry(SIGNED_IN),
    "POST /clients/new": Entry(SIGNED_IN),
    "GET /clients/<int:client_id>": Entry(CLIENT),
    "GET /clients/<int:client_id>/edit": Entry(CLIENT_BOOK),
    "POST /clients/<int:client_id>/edit": Entry(CLIENT_BOOK),
    "POST /clients/<int:client_id>/stage": Entry(CLIENT_BOOK, data={"stage": "lost"}),
    "POST /clients/<int:client_id>/reveal": Entry(CLIENT, data={"field": "mobile"}),
    "POST /clients/<int:client_id>/call": Entry(CLIENT),  # logged, then tel:; a GET is 405
    "GET /clients/<int:client_id>/reassign": Entry(REASSIGN),
    "POST /clients/<int:client_id>/reassign": Entry(REASSIGN),
    "GET /clients/<int:client_id>/visits/new": Entry(CLIENT),
    "POST /clients/<int:client_id>/visits/new": Entry(CLIENT),
    "GET /visits/<int:visit_id>": Entry(CLIENT),
    "GET /clients/<int:client_id>/followups/new": Entry(CLIENT_BOOK),
    "POST /clients/<int:client_id>/followups/new": Entry(CLIENT_BOOK),

    # the client file's tabs: needs, suitability, assets, plan
    "GET /clients/<int:client_id>/profile": Entry(CLIENT),
    "POST /clients/<int:client_id>/profile": Entry(CLIENT),
    "GET /clients/<int:client_id>/investor-type": Entry(CLIENT),
    "POST /clients/<int:client_id>/investor-type": Entry(CLIENT),
    "GET /clients/<int:client_id>/suitability": Entry(CLIENT),
    "GET /clients/<int:client_id>/assessment": Entry(CLIENT),
    "POST /clients/<int:client_id>/assessment": Entry(CLIENT),
    "POST /clients/<int:client_id>/assessment/draft": Entry(CLIENT),
    "GET /assessments/<int:assessment_id>": Entry(CLIENT),
    "GET /clients/<int:client_id>/recommendations/new": Entry(CLIENT),
    "POST /clients/<int:client_id>/recommendations/new": Entry(CLIENT),
    "GET /clients/<int:client_id>/assets": Entry(CLIENT),
    "POST /clients/<int:client_id>/assets": Entry(CLIENT),
    "GET /clients/<int:client_id>/plan": Entry(CLIENT),  # read-only for an assignee
    "POST /clients/<int:client_id>/plan": Entry(CLIENT_BOOK),
    "POST /clients/<int:client_id>/plan/revise": Entry(CLIENT_BOOK),
    "POST /clients/<int:client_id>/plan/items": Entry(CLIENT_BOOK),
    "POST /clients/<int:client_id>/plan/items/<int:item_id>/remove": Entry(CLIENT_BOOK,
                                                                          params={"item_id": "plan_item"}),
    "POST /clients/<int:client_id>/plan/end": Entry(CLIENT_BOOK),

    # work lists
    "GET /today": Entry(SIGNED_IN),
    "GET /team": Entry(LEADS_AND_ADMIN),
    "POST /team": Entry(LEADS_AND_ADMIN),
    "GET /notifications": Entry(SIGNED_IN),
    "POST /notifications": Entry(SIGNED_IN),
    "GET /plans": Entry(SIGNED_IN),
    "GET /suitability/expiring": Entry(SIGNED_IN),
    "GET /suitability/overview": Entry(LEADS_AND_ADMIN),
    "GET /compliance/recommendations": Entry(ADMIN_ONLY),

    # follow-ups (A1's own)
    "GET /followups/<int:followup_id>": Entry(A1_RECORD),
    "POST /followups/<int:followup_id>/snooze": Entry(A1_RECORD),
    "POST /followups/<int:followup_id>/cancel": Entry(A1_RECORD),

    # complaints (A1's, about A1's client)
    "GET /complaints": Entry(SIGNED_IN),
    "GET /complaints/new": Entry(CLIENT, query="client={client_id}"),  # about a client: who may see it
    "POST /complaints/new": Entry(CLIENT, query="client={client_id}"),
    "GET /complaints/<int:complaint_id>": Entry(A1_RECORD),
    "POST /complaints/<int:complaint_id>/status": Entry(A1_RECORD),
    "POST /complaints/<int:complaint_id>/note": Entry(A1_RECORD),
    "POST /complaints/<int:complaint_id>/handover": Entry(A1_RECORD),
    "POST /complaints/<int:complaint_id>/extend": Entry(COMPLAINT_SUPERVISOR),
    "POST /complaints/<int:complaint_id>/close": Entry(A1_RECORD),
    "POST /complaints/<int:complaint_id>/reopen": Entry(A1_RECORD),

    # compliance / admin
    "GET /admin/users": Entry(ADMIN_ONLY),
    "GET /admin/users/new": Entry(ADMIN_ONLY),
    "POST /admin/users/new": Entry(ADMIN_ONLY),
    "GET /admin/users/<int:user_id>": Entry(ADMIN_ONLY),
    "POST /admin/users/<int:user_id>": Entry(ADMIN_ONLY),
    "POST /admin/users/<int:user_id>/sessions/end": Entry(ADMIN_ONLY),  # A1 signed out everywhere
    "GET /admin/teams": Entry(ADMIN_ONLY),
    "POST /admin/teams": Entry(ADMIN_ONLY),
    "GET /admin/teams/<int:team_id>": Entry(ADMIN_ONLY),
    "POST /admin/teams/<int:team_id>": Entry(ADMIN_ONLY),
    "GET /admin/outlets": Entry(ADMIN_ONLY),
    "POST /admin/outlets": Entry(ADMIN_ONLY),
    "GET /admin/outlets/<int:outlet_id>": Entry(ADMIN_ONLY),
    "POST /admin/outlets/<int:outlet_id>": Entry(ADMIN_ONLY),
    "GET /admin/audit": Entry(ADMIN_ONLY),
    "GET /admin/products": Entry(ADMIN_ONLY),
    "GET /admin/products/new": Entry(ADMIN_ONLY),
    "POST /admin/products/new": Entry(ADMIN_ONLY),
    "GET /admin/products/<int:product_id>": Entry(ADMIN_ONLY),
    "POST /admin/products/<int:product_id>": Entry(ADMIN_ONLY),
    "GET /admin/questionnaires": Entry(ADMIN_ONLY),
    "GET /admin/questionnaires/new": Entry(ADMIN_ONLY),
    "POST /admin/questionnaires/new": Entry(ADMIN_ONLY),
    "GET /admin/questionnaires/<int:questionnaire_id>": Entry(ADMIN_ONLY),
    "POST /admin/questionnaires/<int:questionnaire_id>/activate": Entry(ADMIN_ONLY),
    "GET /admin/settings": Entry(ADMIN_ONLY),
    "POST /admin/settings": Entry(ADMIN_ONLY),
    "GET /admin/plan-templates": Entry(ADMIN_ONLY),
    "GET /admin/plan-templates/new": Entry(ADMIN_ONLY),
    "POST /admin/plan-templates/new": Entry(ADMIN_ONLY),
    "GET /admin/plan-templates/<int:template_id>": Entry(ADMIN_ONLY),
    "POST /admin/plan-templates/<int:template_id>": Entry(ADMIN_ONLY),
    "POST /admin/plan-templates/<int:template_id>/items": Entry(ADMIN_ONLY),
    "POST /admin/plan-templates/<int:template_id>/items/<int:item_id>/remove": Entry(
        ADMIN_ONLY, params={"item_id": "template_item"}),
    "GET /admin/workdays": Entry(ADMIN_ONLY),
    "POST /admin/workdays": Entry(ADMIN_ONLY),
    "POST /admin/workdays/<int:override_id>/remove": Entry(ADMIN_ONLY),
    "GET /admin/assets": Entry(ADMIN_ONLY),
    "POST /admin/assets": Entry(ADMIN_ONLY),
    "GET /admin/outbox": Entry(ADMIN_ONLY),
    "POST /admin/outbox/send": Entry(ADMIN_ONLY),
    "POST /admin/outbox/<int:email_id>/requeue": Entry(ADMIN_ONLY),
    # outlet development: channel partners (A1's partner)
    "GET /partners": Entry(SIGNED_IN),
    "GET /partners/new": Entry(SIGNED_IN),
    "POST /partners/new": Entry(SIGNED_IN),
    "GET /partners/<int:partner_id>": Entry(A1_RECORD),
    "GET /partners/<int:partner_id>/edit": Entry(A1_RECORD),
    "POST /partners/<int:partner_id>/edit": Entry(A1_RECORD),
    "POST /partners/<int:partner_id>/reveal": Entry(A1_RECORD),
    "GET /partners/<int:partner_id>/contacts/new": Entry(A1_RECORD),
    "POST /partners/<int:partner_id>/contacts/new": Entry(A1_RECORD),
    # referrals
    "GET /referrers": Entry(SIGNED_IN),  # matches among what each may see
    "GET /referrers/choose": Entry(A1_RECORD, query="ref=partner:{partner_id}"),  # unseen = unknown: 404
    # outlet coverage (A1's pattern, exception, check-in)
    "GET /coverage": Entry(SIGNED_IN),  # a lead's or admin's week per outlet; a manager's own week
    "GET /coverage/patterns": Entry(LEADS_AND_ADMIN),
    "POST /coverage/patterns": Entry(LEADS_AND_ADMIN),
    # Ending A1's pattern: team A's lead or an admin; a manager never plans patterns (403 before any lookup).
    "POST /coverage/patterns/<int:pattern_id>/end": Entry(answers(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK,
                                                                  NOT_FOUND, OK, FORBIDDEN)),
    "POST /coverage/exceptions": Entry(SIGNED_IN),  # a manager their own day, a lead their team's
    "POST /coverage/exceptions/<int:exception_id>/remove": Entry(A1_RECORD),
    "GET /check-in": Entry(SIGNED_IN),
    "POST /check-in": Entry(SIGNED_IN),
    "POST /check-out": Entry(SIGNED_IN),  # one's own check-in only; none open: a message
    # the team pool (A2's prospect in team A's pool)
    "GET /pool": Entry(SIGNED_IN),  # one's own team's pool (a manager without a team sees it empty)
    # Team A's managers and lead claim (A2, its former owner, too); compliance sees it but owns no prospects.
    "POST /pool/<int:client_id>/claim": Entry(answers(LOGIN, OK, OK, NOT_FOUND, OK, NOT_FOUND, FORBIDDEN, OK),
                                              params={"client_id": "pool_client_id"}),
    # The lead of team A (or compliance) assigns; the team's managers see the pool, so they get 403.
    "POST /pool/<int:client_id>/assign": Entry(answers(LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, OK, NOT_FOUND, OK,
                                                       FORBIDDEN), params={"client_id": "pool_client_id"}),
    # Extending A1's prospect's protection: its lead or compliance; whoever else may open the file gets 403.
    "POST /clients/<int:client_id>/protection": Entry(answers(LOGIN, FORBIDDEN, NOT_FOUND, NOT_FOUND, OK,
                                                              NOT_FOUND, OK, FORBIDDEN)),
    # QR cards (A1's card) and the public registration form
    "GET /cards": Entry(SIGNED_IN),  # one's own cards; a lead's team's; an admin's all
    "GET /cards/new": Entry(SIGNED_IN),
    "POST /cards/new": Entry(SIGNED_IN),
    "GET /cards/<int:card_id>": Entry(A1_RECORD),
    "GET /cards/<int:card_id>.svg": Entry(A1_RECORD),
    "GET /cards/<int:card_id>.pdf": Entry(A1_RECORD),
    "POST /cards/<int:card_id>/revoke": Entry(A1_RECORD),  # its manager, their lead, an admin
    "GET /r/<token>": Entry(PUBLIC, params={"token": "card_token"}),  # signed token, no sign-in
    "POST /r/<token>": Entry(PUBLIC, params={"token": "card_token"}),
    "GET /r/<token>/thanks": Entry(PUBLIC, params={"token": "card_token"}),
}

# The same routes asked about another record: the follow-up A3 holds, and records named in the query
# string, which are loaded through the same rules as those in the path. "label" -> (ACCESS key, Entry).
HANDED = answers(LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, OK, OK)  # its assignee, their lead, admin
VARIANTS: dict[str, tuple[str, Entry]] = {
    "A3's follow-up": ("GET /followups/<int:followup_id>", Entry(HANDED, params={"followup_id": "handed"})),
    "A3 snoozes it": ("POST /followups/<int:followup_id>/snooze", Entry(HANDED, params={"followup_id": "handed"})),
    "A3 cancels it": ("POST /followups/<int:followup_id>/cancel", Entry(HANDED, params={"followup_id": "handed"})),
    # completing A1's follow-up: the client's rule and the follow-up's (A3 sees the client, not A1's work)
    "visit completing A1's follow-up": ("GET /clients/<int:client_id>/visits/new",
                                        Entry(A1_RECORD, query="followup={followup_id}")),
    "visit completing A1's follow-up, saved": ("POST /clients/<int:client_id>/visits/new",
                                               Entry(A1_RECORD, query="followup={followup_id}")),
    # a recommendation made during one of the client's visits
    "recommendation during a visit": ("GET /clients/<int:client_id>/recommendations/new",
                                      Entry(CLIENT, query="visit={visit_id}")),
    "recommendation during a visit, saved": ("POST /clients/<int:client_id>/recommendations/new",
                                             Entry(CLIENT, query="visit={visit_id}")),
}

IGNORED_RULES = {"/static/<path:filename>"}
ASKED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def app_rules(app) -> set[str]:
    """Every "METHOD rule" of the URL map that ACCESS must answer for."""
    return {f"{method} {rule.rule}" for rule in app.url_map.iter_rules() if rule.rule not in IGNORED_RULES
            for method in rule.methods if method in ASKED_METHODS}


# ------------------------------------------------------------------ the world, saved once


COMPLAINT = {"complainant_name": "张三", "complainant_contact": "13912345678", "channel": "phone",
             "category": "fees", "severity": "normal", "facts": "佣金过高"}


def build_world() -> dict[str, object]:
    from crm.services import qr_cards

    """The people and records of the module docstring, through the services; the ids the URLs need."""
    w = factories.make_world()
    assignee = factories.create_user("manager3", "周经理", PASSWORD, Role.MANAGER, team=w.team,
                                     outlet=w.outlets[2], email="m3@example.com")
    questionnaire = factories.make_questionnaire()
    product = Product(code="F001", name="稳健一号", kind="fund", risk=1, active=True)
    db.session.add(product)
    db.session.flush()

    client = make_client(w.manager1, name="张三", mobile="13912345678")
    make_client(w.other_manager, name="王五")
    visit = make_visit(client, w.manager1)
    followup = followups.create(client, w.manager1, utcnow() + timedelta(days=1), "call", title="回访")
    handed = followups.create(client, w.manager1, utcnow() + timedelta(days=2), "call", title="代为回访")
    followups.assign([handed], w.lead, assignee)
    complaint = complaints.register(w.manager1, COMPLAINT, client=client)
    profiles.save_profile(client, w.manager1, {"income_band": "10_30w", "goals": "retirement"}, 0)
    # A client of some risk tolerance (not the lowest category), so that an R1 product matches.
    answers_given = {q.id: q.options[1].id for q in questionnaire.questions}
    assessment = suitability.submit_assessment(client, questionnaire, w.manager1, answers_given)
    suitability.recommend(client, product, w.manager1)
    assets.add_snapshot(client, w.manager1, date.today() - timedelta(days=1), 50_000_000)

    template = plans.save_template(None, w.admin, name="权限测试模板", tier_id=None, goals="", review_months=12,
                                   active=True)
    template_item = plans.add_template_item(template, w.admin, {"kind": "review_call", "cadence": "months",
                                                                "every": 3})
    plan = plans.start_plan(client, w.manager1, template, "稳健增值").plan
    override = complaints.add_override(w.admin, date(2030, 1, 2), True, "调休")
    email = OutboxEmail(message_id=f"<{uuid.uuid4()}@example.com>", to_address="m1@example.com", subject="提醒",
                        text_body="提醒", status="failed", attempts=5)
    db.session.add(email)
    # Outlet development: A1's partner and its contact, A1's QR card, A1's week and check-in, and a
    # prospect of A2's released to team A's pool.
    partner = Partner(name="李柜员", role="teller", organisation="工商银行 朝阳支行", mobile="13700001111",
                      mobile_reversed="11110000731", owner_id=w.manager1.id, created_by_id=w.manager1.id,
                      outlet_id=w.outlets[0].id)
    db.session.add(partner)
    db.session.flush()
    partner_contact = PartnerContact(partner_id=partner.id, author_id=w.manager1.id, channel="outlet",
                                     summary="介绍理财讲座")
    card = QrCard(manager_id=w.manager1.id, outlet_id=w.outlets[0].id, nonce=uuid.uuid4().hex,
                  created_by_id=w.manager1.id)
    pattern = CoveragePattern(user_id=w.manager1.id, outlet_id=w.outlets[0].id, weekday=0,
                              starts_on=date(2026, 1, 5), created_by_id=w.lead.id)
    exception = CoverageException(user_id=w.manager1.id, day=date(2030, 1, 7), kind="leave",
                                  created_by_id=w.lead.id)
    check_in = CheckIn(user_id=w.manager1.id, outlet_id=w.outlets[0].id, day=date.today())
    pooled = make_client(w.manager2, name="赵六", mobile="13812340000")
    pooled.pool_team_id, pooled.pooled_at = w.team.id, utcnow()
    db.session.add_all([partner_contact, card, pattern, exception, check_in])
    db.session.flush()
    return {
        "client_id": client.id, "visit_id": visit.id, "followup_id": followup.id, "complaint_id": complaint.id,
        "handed": handed.id, "assessment_id": assessment.id, "plan_item": plan.items[0].id, "template_id": template.id,
        "template_item": template_item.id, "user_id": w.manager1.id, "team_id": w.team.id,
        "outlet_id": w.outlets[0].id, "product_id": product.id, "questionnaire_id": questionnaire.id,
        "override_id": override.id, "email_id": email.id, "language": "en",
        "partner_id": partner.id, "partner_contact_id": partner_contact.id, "card_id": card.id,
        "pattern_id": pattern.id, "exception_id": exception.id, "check_in_id": check_in.id,
        "pool_client_id": pooled.id,
        "card_token": qr_cards.card_token(card),
    }


def a_session_of(app, username: str) -> int | None:
    """Sign the user in on another device and return that session's id (None before server-side sessions)."""
    signed_in(app, username)
    return db.session.execute(sa.select(sa.func.max(UserSession.id)).join(User, User.id == UserSession.user_id)
                              .where(User.username == username)).scalar_one()


class PostgresWorld:
    """PostgreSQL: the saved world's rows, put back with DELETE and INSERT (much faster than TRUNCATE)."""

    def __init__(self) -> None:
        self.metadata = sa.MetaData()
        with db.engine.connect() as conn:
            self.metadata.reflect(conn)
            self.tables = [t for t in self.metadata.sorted_tables if t.name != "alembic_version"]
            self.rows = {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in self.tables}

    def put_back(self, rows: dict[str, list[dict]] | None = None) -> None:
        """Every table as in `rows` (the saved world by default), each id sequence past its rows."""
        rows = self.rows if rows is None else rows
        with db.engine.begin() as conn:
            for table in reversed(self.tables):
                conn.execute(sa.delete(table))
            for table in self.tables:
                if rows.get(table.name):
                    conn.execute(sa.insert(table), rows[table.name])
                if "id" in table.c and table.c.id.autoincrement is not False:
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                         f"coalesce((SELECT max(id) FROM \"{table.name}\"), 0) + 1, false)"))


def _copy_sqlite(source, target) -> None:
    """Copy a database through SQLite itself: the app runs in WAL mode, so the file alone may be stale."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        dst.execute("PRAGMA synchronous=OFF")  # a test database: no need to wait for the disk
        src.backup(dst)


@dataclass
class Matrix:
    """The app on its own database, the saved world and a way back to it."""

    app: object
    ids: dict
    restore: object


@pytest.fixture(scope="module")
def matrix(database_template, tmp_path_factory):
    """One app for the module; `restore()` puts the database back to the saved world before a request."""
    if conftest.PG_URL:
        url = conftest.PG_URL
    else:
        folder = tmp_path_factory.mktemp("matrix")
        live, saved = folder / "crm.sqlite3", folder / "world.sqlite3"
        shutil.copyfile(database_template, live)
        url = f"sqlite:///{live}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_STORAGE_URI": "memory://", "CRM_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    app.test_client_class = conftest.RequestIsolatingClient
    with app.app_context():
        if not conftest.PG_URL:
            # ~1,000 sign-ins and requests: a throw-away database need not wait for the disk on each commit.
            sa.event.listen(db.engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA synchronous=OFF"))
        ids = build_world()
        db.session.commit()
        db.session.remove()
        ids["session_id"] = a_session_of(app, "manager1")
        if conftest.PG_URL:
            saved_world = PostgresWorld()

            def restore():
                db.session.remove()
                saved_world.put_back()
        else:
            db.engine.dispose()
            _copy_sqlite(live, saved)

            def restore():
                db.session.remove()
                db.engine.dispose()
                _copy_sqlite(saved, live)
        yield Matrix(app=app, ids=ids, restore=restore)
        db.session.remove()
        if conftest.PG_URL:  # the next module starts from the migrated database
            saved_world.put_back(conftest._REFERENCE_ROWS)
        db.engine.dispose()


# ------------------------------------------------------------------ asking

def url_for_entry(key: str, entry: Entry, ids: dict) -> str:
    """The rule's path with its arguments filled from the world, and the entry's query."""
    rule = key.split(" ", 1)[1]
    path = rule
    for part in rule.split("<")[1:]:
        spec = part.split(">", 1)[0]
        name = spec.split(":")[-1]
        path = path.replace(f"<{spec}>", str(ids[entry.params.get(name, name)]))
    query = entry.query.format(**ids)
    return path + ("?" + query if query else "")


def answer_class(method: str, response) -> str:
    """What the answer means for authorisation."""
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        return LOGIN if urlsplit(response.headers["Location"]).path == "/login" else OK
    if status == 200 or (method == "POST" and status in (400, 409, 413, 422)):
        return OK
    return str(status)


def signed_in(app, username: str | None):
    c = app.test_client()
    if username is not None:
        response = c.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 303, (username, response.status_code)
    return c


def rows_on_file() -> tuple[int, ...]:
    """How many rows each table holds (sign-in bookkeeping left out): a refusal must not change it."""
    bookkeeping = {"alembic_version", "user_sessions", "sign_in_attempts", "process_heartbeats"}
    tables = [t for t in db.metadata.sorted_tables if t.name not in bookkeeping]
    counts = db.session.execute(sa.select(*(sa.select(sa.func.count()).select_from(t).scalar_subquery()
                                            for t in tables))).one()
    db.session.remove()
    return tuple(counts)


def ask(matrix: Matrix, key: str, persona: str, entry: Entry | None = None) -> str:
    entry = entry or ACCESS[key]
    method = key.split(" ", 1)[0]
    c = signed_in(matrix.app, USERNAMES[persona])
    url = url_for_entry(key, entry, matrix.ids)
    if method == "GET":
        return answer_class(method, c.get(url))
    before = rows_on_file()
    got = answer_class(method, c.open(url, method=method, data=entry.data))
    if key == "POST /logout" and persona != "anonymous" and got == LOGIN:
        # Signing out ends on the sign-in page; what counts is that the next page needs signing in.
        return OK if answer_class("GET", c.get("/settings")) == LOGIN else "still signed in"
    if got != OK and rows_on_file() != before:
        got += " (and wrote rows)"
    return got


# ------------------------------------------------------------------ the tests

def test_every_route_has_an_entry(matrix):
    rules = app_rules(matrix.app)
    missing = sorted(rules - set(ACCESS))
    gone = sorted(set(ACCESS) - rules)
    assert not missing, f"routes without a row in ACCESS (say who may use them): {missing}"
    assert not gone, f"rows in ACCESS for routes the app no longer has: {gone}"


def test_every_entry_names_the_ids_it_needs(matrix):
    for key, entry in ACCESS.items():
        url_for_entry(key, entry, matrix.ids)  # a KeyError names an argument the world lacks


@pytest.mark.parametrize("key", sorted(ACCESS))
def test_the_route_answers_each_persona_as_documented(matrix, key):
    wrong = {}
    changed = True
    for persona in PERSONAS:
        if changed:
            matrix.restore()
        got = ask(matrix, key, persona)
        # A GET changes nothing, nor does a refusal: only a POST that went through needs the world back.
        changed = key.startswith("POST ") and got == OK
        if got != ACCESS[key].expect[persona]:
            wrong[persona] = f"expected {ACCESS[key].expect[persona]}, got {got}"
    assert not wrong, f"{key}: {wrong}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_route_answers_about_other_records_as_documented(matrix, variant):
    key, entry = VARIANTS[variant]
    assert key in ACCESS, f"{variant} names a route the app no longer has"
    wrong = {}
    for persona in PERSONAS:
        matrix.restore()
        got = ask(matrix, key, persona, entry)
        if got != entry.expect[persona]:
            wrong[persona] = f"expected {entry.expect[persona]}, got {got}"
    assert not wrong, f"{variant}: {wrong}"


def test_a_get_on_a_post_only_path_is_405(matrix):
    """Where no rule of a path takes GET, a link cannot act on it: 405 before anything else."""
    by_path: dict[str, set[str]] = {}
    for key in app_rules(matrix.app):
        method, rule = key.split(" ", 1)
        by_path.setdefault(rule, set()).add(method)
    post_only = [rule for rule, methods in by_path.items() if "GET" not in methods]
    assert post_only
    matrix.restore()
    for username in (None, "manager1", "admin"):
        c = signed_in(matrix.app, username)
        for rule in post_only:
            entry = ACCESS.get(f"POST {rule}", Entry(PUBLIC))
            url = url_for_entry(f"POST {rule}", entry, matrix.ids).split("?")[0]
            assert c.get(url).status_code == 405, (username, rule)


def test_the_world_is_what_the_table_assumes(matrix):
    """A1's client is A1's, the assignee holds an open follow-up on it, the other team has nothing of it."""
    matrix.restore()
    from crm.models import Client
    from crm.services.access import answers_for, can_see_client

    client = db.session.get(Client, matrix.ids["client_id"])
    people = {p: db.session.execute(sa.select(User).where(User.username == u)).scalar_one()
              for p, u in USERNAMES.items() if u}
    seen = {p: can_see_client(user, client) for p, user in people.items()}
    book = {p: answers_for(user, client) for p, user in people.items()}
    assert seen == {p: CLIENT[p] == OK for p in people}
    assert book == {p: CLIENT_BOOK[p] == OK for p in people}
    assert plans.active_plan(client) is not None and suitability.active_questionnaire() is not None
    db.session.remove()
