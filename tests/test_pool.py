"""Team pool (公海) and protection periods (保护期): the rule at its exact boundary, the release job, claims,
a lead's assignment and extension, capture of a pooled prospect's mobile, timeline, audit and pages."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.domain import protection
from crm.domain.refusals import NotAllowed, NotFound, RuleError
from crm.extensions import db
from crm.models import (
    AuditEvent,
    Client,
    FollowUp,
    JobRun,
    Notification,
    PoolEvent,
    Role,
    Stage,
    utcnow,
)
from crm.services import clients as client_service
from crm.services import followups, pool
from tests.factories import PASSWORD, create_user, make_client, make_visit

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, a Monday
DAY, SECOND = timedelta(days=1), timedelta(seconds=1)


def prospect(owner, captured: datetime = T0, **extra) -> Client:
    """A prospect captured at `captured` (its protection starts then)."""
    client = make_client(owner, **extra)
    client.created_at = client.protection_started_at = client.last_activity_at = captured
    db.session.flush()
    return client


def fresh(client: Client) -> Client:
    db.session.expire_all()
    return db.session.get(Client, client.id)


def pooled(world, owner=None, **extra) -> Client:
    """A prospect of `owner` (manager1) released to team A's pool."""
    client = prospect(owner or world.manager1, **extra)
    pool.release_lapsed(T0 + 7 * DAY)
    db.session.commit()
    return fresh(client)


def actions(action: str) -> list[AuditEvent]:
    return list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)).scalars())


# ---------------------------------------------------------------- the rule (pure)

@pytest.mark.parametrize("case, now, started, contact, extended, stage, opened, expected", [
    ("one second before the end: kept", T0 + 7 * DAY - SECOND, T0, None, None, "prospect", False, False),
    ("at the end: released", T0 + 7 * DAY, T0, None, None, "prospect", False, True),
    ("a contact restarts the period", T0 + 7 * DAY, T0, T0 + 3 * DAY, None, "contacted", False, False),
    ("... until 7 days after the contact", T0 + 10 * DAY, T0, T0 + 3 * DAY, None, "contacted", False, True),
    ("an older contact does not shorten it", T0 + 7 * DAY - SECOND, T0, T0 - 5 * DAY, None, "prospect", False, False),
    ("an extension holds it", T0 + 7 * DAY, T0, None, T0 + 20 * DAY, "prospect", False, False),
    ("... until its instant", T0 + 20 * DAY, T0, None, T0 + 20 * DAY, "prospect", False, True),
    ("an earlier extension changes nothing", T0 + 7 * DAY, T0, None, T0 + DAY, "prospect", False, True),
    ("no start on file: from creation", T0 + 7 * DAY, None, None, None, "prospect", False, True),
    ("an opened account is never released", T0 + 99 * DAY, T0, None, None, "prospect", True, False),
    ("an active client is never released", T0 + 99 * DAY, T0, None, None, "active", False, False),
    ("an account_opened client is never released", T0 + 99 * DAY, T0, None, None, "account_opened", True, False),
    ("nor a lost one", T0 + 99 * DAY, T0, None, None, "lost", False, False),
])
def test_protection_rule(case, now, started, contact, extended, stage, opened, expected):
    assert protection.lapsed(stage=stage, account_opened=opened, started_at=started, created_at=T0,
                             last_contact_at=contact, extended_until=extended, days=7, now=now) is expected, case


def test_the_period_is_in_calendar_days_across_a_weekend():
    friday = datetime(2026, 3, 6, 9, 0, tzinfo=timezone.utc)
    assert protection.protected_until(friday, friday, None, None, 7) == friday + 7 * DAY
    assert protection.release_cutoff(friday + 7 * DAY, 7) == friday


# ---------------------------------------------------------------- release

def test_release_happens_at_the_exact_instant_with_a_frozen_clock(app, world):
    client = prospect(world.manager1)
    assert pool.release_lapsed(T0 + 7 * DAY - SECOND).released == 0
    assert fresh(client).pool_team_id is None
    report = pool.release_lapsed(T0 + 7 * DAY)
    assert report.released == 1
    client = fresh(client)
    assert (client.pool_team_id, client.pooled_at, client.owner_id) == (world.team.id, T0 + 7 * DAY,
                                                                       world.manager1.id)
    event = db.session.execute(sa.select(PoolEvent)).scalar_one()
    assert (event.kind, event.reason, event.from_user_id, event.actor_id, event.team_id) == (
        "release", "not_contacted", world.manager1.id, None, world.team.id)


def test_the_query_and_the_pure_rule_agree(app, world):
    cases = [prospect(world.manager1, T0 + i * 12 * 3600 * SECOND) for i in range(6)]
    now = T0 + 7 * DAY + 3600 * SECOND * 24  # exactly the third one's end
    expected = {c.id for c in cases if protection.lapsed(
        stage=c.stage, account_opened=False, started_at=c.protection_started_at, created_at=c.created_at,
        last_contact_at=None, extended_until=None, days=7, now=now)}
    pool.release_lapsed(now)
    released = set(db.session.execute(sa.select(Client.id).where(Client.pool_team_id.is_not(None))).scalars())
    assert released == expected and 0 < len(released) < len(cases)


def test_a_contact_resets_the_period(app, world):
    client = prospect(world.manager1)
    make_visit(client, world.manager1, occurred_at=T0 + 3 * DAY)
    assert pool.release_lapsed(T0 + 7 * DAY).released == 0
    assert pool.release_lapsed(T0 + 10 * DAY - SECOND).released == 0
    assert pool.release_lapsed(T0 + 10 * DAY).released == 1


def test_a_leads_extension_holds_it(app, world):
    client = prospect(world.manager1)
    pool.extend(client, world.lead, T0 + 30 * DAY, "客户出差", now=T0 + DAY)
    assert pool.release_lapsed(T0 + 30 * DAY - SECOND).released == 0
    assert pool.release_lapsed(T0 + 30 * DAY).released == 1


@pytest.mark.parametrize("stage", [Stage.ACCOUNT_OPENED, Stage.ACTIVE])
def test_opened_accounts_and_active_clients_are_never_released(app, world, stage):
    client = prospect(world.manager1)
    client_service.change_stage(client, world.manager1, stage, at=T0 + SECOND)
    assert pool.release_lapsed(T0 + 365 * DAY).released == 0


def test_an_account_opened_then_lost_is_never_released(app, world):
    client = prospect(world.manager1)
    client_service.change_stage(client, world.manager1, Stage.ACCOUNT_OPENED, at=T0 + SECOND)
    client.stage = Stage.CONTACTED.value  # even back in an early stage, the opened account counts
    assert pool.release_lapsed(T0 + 365 * DAY).released == 0


def test_an_owner_without_a_team_is_never_released(app, world):
    loner = create_user("loner", "独行", PASSWORD, Role.MANAGER)
    prospect(loner)
    assert pool.release_lapsed(T0 + 365 * DAY).released == 0


def test_a_second_run_releases_nothing_new(app, world):
    prospect(world.manager1)
    prospect(world.manager2)
    assert pool.release_lapsed(T0 + 8 * DAY).released == 2
    db.session.commit()
    again = pool.release_lapsed(T0 + 8 * DAY)
    assert (again.released, again.owners_told) == (0, 0)
    assert db.session.execute(sa.select(sa.func.count()).select_from(PoolEvent)).scalar_one() == 2
    assert db.session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar_one() == 2


def test_release_works_in_batches(app, world, monkeypatch):
    monkeypatch.setattr(pool, "BATCH", 2)
    for _ in range(5):
        prospect(world.manager1)
    report = pool.release_lapsed(T0 + 7 * DAY)
    assert (report.released, report.owners_told) == (5, 1)
    assert len(actions("pool.release")) == 5


def test_the_former_owner_loses_sight_and_is_told_once(app, world, login):
    first, second = prospect(world.manager1, name="张三"), prospect(world.manager1, name="李四")
    pool.release_lapsed(T0 + 7 * DAY)
    db.session.commit()
    note = db.session.execute(sa.select(Notification).where(Notification.user_id == world.manager1.id)).scalar_one()
    assert note.link == "/pool" and "2" in note.text
    c = login("manager1")
    assert c.get(f"/clients/{first.id}").status_code == 404
    assert "张三" not in c.get("/clients").get_data(as_text=True)
    assert login("lead").get(f"/clients/{second.id}").status_code == 200  # the lead still sees the team's


def test_the_former_owners_open_follow_ups_are_cancelled_but_not_a_third_persons(app, world):
    client = prospect(world.manager1)
    own = followups.create(client, world.manager1, T0 + 2 * DAY, "call", title="回访")
    handed = followups.create(client, world.manager1, T0 + 2 * DAY, "call", title="代为回访")
    followups.assign([handed], world.lead, world.manager2)
    report = pool.release_lapsed(T0 + 7 * DAY)
    assert report.followups_cancelled == 1
    db.session.expire_all()
    assert db.session.get(FollowUp, own.id).status == "cancelled"
    assert db.session.get(FollowUp, handed.id).status == "open"


def test_release_is_audited_as_the_system(app, world):
    client = prospect(world.manager1)
    pool.release_lapsed(T0 + 7 * DAY)
    [event] = actions("pool.release")
    assert (event.actor_id, event.client_id, event.params["from"]) == (None, client.id, "王经理")


# ---------------------------------------------------------------- claim, assign, capture

def test_a_manager_of_the_team_claims_a_pooled_prospect(app, world):
    client = pooled(world)
    now = T0 + 8 * DAY
    claimed = pool.claim(client.id, world.manager2, now)
    db.session.commit()
    claimed = fresh(claimed)
    assert (claimed.owner_id, claimed.pool_team_id, claimed.pooled_at) == (world.manager2.id, None, None)
    assert claimed.protection_started_at == now
    event = db.session.execute(sa.select(PoolEvent).where(PoolEvent.kind == "claim")).scalar_one()
    assert (event.from_user_id, event.to_user_id, event.actor_id) == (world.manager1.id, world.manager2.id,
                                                                      world.manager2.id)
    assert len(actions("pool.claim")) == 1
    # Its protection starts again from the claim.
    assert pool.release_lapsed(now + 7 * DAY - SECOND).released == 0
    assert pool.release_lapsed(now + 7 * DAY).released == 1


def test_a_second_claim_is_told_someone_was_first(app, world):
    client = pooled(world)
    pool.claim(client.id, world.manager2)
    db.session.commit()
    with pytest.raises(RuleError) as refused:
        pool.claim(client.id, world.manager1)
    assert refused.value.code == "pool.already_claimed"


def test_another_teams_manager_cannot_claim_and_compliance_owns_no_prospects(app, world):
    client = pooled(world)
    with pytest.raises(NotFound):
        pool.claim(client.id, world.other_manager)
    with pytest.raises(NotAllowed):
        pool.claim(client.id, world.admin)
    assert fresh(client).pool_team_id == world.team.id


def test_the_claim_button_opens_the_client_file(app, world, login):
    client = pooled(world)
    c = login("manager2")
    response = c.post(f"/pool/{client.id}/claim")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/clients/{client.id}")
    assert c.get(f"/clients/{client.id}").status_code == 200
    late = login("lead").post(f"/pool/{client.id}/claim", follow_redirects=True)
    assert late.status_code == 200 and "刚刚已被他人从公海认领" in late.get_data(as_text=True)


def test_a_lead_assigns_a_pooled_prospect_and_the_manager_is_told(app, world, login):
    client = pooled(world)
    response = login("lead").post(f"/pool/{client.id}/assign", data={"manager_id": str(world.manager2.id)})
    assert response.status_code == 303
    assert fresh(client).owner_id == world.manager2.id
    note = db.session.execute(sa.select(Notification).where(Notification.user_id == world.manager2.id)).scalar_one()
    assert note.link == f"/clients/{client.id}"
    event = db.session.execute(sa.select(PoolEvent).where(PoolEvent.kind == "assign")).scalar_one()
    assert (event.actor_id, event.to_user_id) == (world.lead.id, world.manager2.id)
    assert len(actions("pool.assign")) == 1


def test_a_lead_cannot_assign_to_another_teams_manager(app, world):
    client = pooled(world)
    with pytest.raises(RuleError) as refused:
        pool.assign(client.id, world.lead, world.other_manager)
    assert refused.value.code == "pool.not_assignable"
    assert login_free_owner(client) == world.manager1.id


def login_free_owner(client) -> int:
    return fresh(client).owner_id


def test_a_managers_assign_post_is_refused(app, world, login):
    client = pooled(world)
    assert login("manager2").post(f"/pool/{client.id}/assign",
                                  data={"manager_id": str(world.manager2.id)}).status_code == 403


def test_a_reassignment_takes_a_pooled_prospect_out_and_restarts_protection(app, world):
    client = pooled(world)
    client_service.reassign(client, world.lead, world.manager1, "原经理继续跟进")
    db.session.commit()
    client = fresh(client)
    assert (client.owner_id, client.pool_team_id) == (world.manager1.id, None)
    assert client.protection_started_at > T0 + 7 * DAY
    assert db.session.execute(sa.select(PoolEvent).where(PoolEvent.kind == "assign")).scalar_one()


def test_capturing_a_pooled_prospects_mobile_claims_it(app, world, login):
    client = pooled(world, mobile="13912340001")
    c = login("manager2")
    response = c.post("/clients/new", data={"name": "另一个名字", "mobile": "13912340001",
                                            "source_channel": "walk_in", "token": "cap1"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/clients/{client.id}")
    claimed = fresh(client)
    assert (claimed.owner_id, claimed.pool_team_id, claimed.name) == (world.manager2.id, None, client.name)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Client)).scalar_one() == 1
    assert actions("client.capture_clash") == []
    assert len(actions("pool.claim")) == 1
    assert "现已成为您的客户" in c.get(response.headers["Location"]).get_data(as_text=True)


def test_another_teams_manager_capturing_it_gets_the_ordinary_clash(app, world, login):
    client = pooled(world, mobile="13912340002")
    response = login("othermanager").post("/clients/new", data={"name": "王五", "mobile": "13912340002",
                                                                "source_channel": "walk_in", "token": "cap2"})
    assert response.status_code == 409
    assert fresh(client).pool_team_id == world.team.id
    assert len(actions("client.capture_clash")) == 1


# ---------------------------------------------------------------- timeline, pages, extension

def test_the_timeline_shows_release_claim_and_assignment(app, world, login):
    client = pooled(world)
    pool.claim(client.id, world.manager2, T0 + 8 * DAY)
    pool.release_lapsed(T0 + 15 * DAY)
    pool.assign(client.id, world.lead, world.manager1, T0 + 16 * DAY)
    db.session.commit()
    kinds = [e.item.kind for e in client_service.timeline(fresh(client)) if e.kind == "pool"]
    assert kinds == ["assign", "release", "claim", "release"]
    page = login("lead").get(f"/clients/{client.id}").get_data(as_text=True)
    for words in ("释放到团队公海", "从公海认领", "由团队长从公海分配", "保护期内未联系", "定时任务"):
        assert words in page, words


def test_the_pool_page_shows_masked_cards_to_the_team_only(app, world, login):
    client = pooled(world, mobile="13912345678", name="赵六", interests="基金定投")
    page = login("manager2").get("/pool").get_data(as_text=True)
    assert "赵六" in page and "139****5678" in page and "13912345678" not in page
    assert "基金定投" in page and "王经理" in page
    assert f"/pool/{client.id}/claim" in page and f"/pool/{client.id}/assign" not in page
    lead_page = login("lead").get("/pool").get_data(as_text=True)
    assert f"/pool/{client.id}/assign" in lead_page
    assert "赵六" not in login("othermanager").get("/pool").get_data(as_text=True)
    admin = login("admin")
    assert "赵六" in admin.get("/pool").get_data(as_text=True)
    assert "赵六" not in admin.get(f"/pool?team={world.other_team.id}").get_data(as_text=True)


def test_the_summary_partial_renders_the_count(app, world):
    pooled(world)
    from flask import render_template

    with app.test_request_context():
        html = render_template("pool/_summary.html", pool_count=pool.pool_count(world.lead), pool_url="/pool")
    assert "1" in html and 'href="/pool"' in html


def test_the_client_file_shows_the_protection_end_and_the_lead_extends_it(app, world, login):
    client = make_client(world.manager1)
    db.session.commit()
    own = login("manager1").get(f"/clients/{client.id}").get_data(as_text=True)
    assert "保护至" in own and "/protection" not in own
    lead = login("lead")
    assert f"/clients/{client.id}/protection" in lead.get(f"/clients/{client.id}").get_data(as_text=True)
    until = date.today() + timedelta(days=30)
    response = lead.post(f"/clients/{client.id}/protection", data={"until": until.isoformat(), "note": "客户出差"})
    assert response.status_code == 303
    client = fresh(client)
    assert client.protected_until is not None
    assert len(actions("pool.extend")) == 1
    too_far = lead.post(f"/clients/{client.id}/protection", follow_redirects=True,
                        data={"until": (date.today() + timedelta(days=120)).isoformat()})
    assert "最多可延长 90 天" in too_far.get_data(as_text=True)
    assert login("manager1").post(f"/clients/{client.id}/protection",
                                  data={"until": until.isoformat()}).status_code == 403


def test_no_protection_is_shown_for_an_opened_account(app, world, login):
    client = make_client(world.manager1)
    client_service.change_stage(client, world.manager1, Stage.ACCOUNT_OPENED)
    db.session.commit()
    assert "保护至" not in login("manager1").get(f"/clients/{client.id}").get_data(as_text=True)


# ---------------------------------------------------------------- the job

def test_the_release_command_runs_once_per_slot(app, world, runner):
    prospect(world.manager1, utcnow() - 8 * DAY)
    db.session.commit()
    first = runner.invoke(args=["release-prospects", "--scheduled"])
    second = runner.invoke(args=["release-prospects", "--scheduled"])
    assert first.exit_code == 0 and "released 1" in first.output, first.output
    assert "already run" in second.output, second.output
    assert db.session.execute(sa.select(sa.func.count()).select_from(JobRun)
                              .where(JobRun.job == "release-prospects")).scalar_one() == 1
    db.session.expire_all()
    assert db.session.execute(sa.select(sa.func.count()).select_from(PoolEvent)).scalar_one() == 1


# ---------------------------------------------------------------- no 500 on any input

junk = st.one_of(st.text(max_size=60), st.sampled_from(["", "0", "-1", "99999999999999999999", "9999-12-31",
                                                        "2026-02-30", "\x00", "１２", "<script>"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.fixed_dictionaries({}, optional={"manager_id": junk, "until": junk, "note": junk}))
def test_the_pool_forms_never_fail_with_a_server_error(app, world, login, data):
    client = db.session.execute(sa.select(Client).where(Client.pool_team_id.is_not(None))).scalar()
    if client is None:
        client = pooled(world)
        make_client(world.manager1, name="保护")
        db.session.commit()
    other = db.session.execute(sa.select(Client).where(Client.pool_team_id.is_(None))).scalars().first()
    lead = login("lead")
    for url in (f"/pool/{client.id}/assign", f"/clients/{other.id}/protection"):
        assert lead.post(url, data=data).status_code < 500
