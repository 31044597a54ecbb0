"""The dormant / at-risk scan: rules at their exact boundaries, flag lifecycle, follow-ups, statement count."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import AssetSnapshot, AuditEvent, ClientFlag, FollowUp, Tier
from crm.services import clients as client_service
from crm.services import scan, settings
from crm.services.scan import ReasonSource, scan_clients
from tests.factories import make_client

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 12:00 in Shanghai on 2026-11-25: the scan's "today" is T.
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)
T = date(2026, 11, 25)


def shanghai(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An aware UTC datetime for a Shanghai wall-clock time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(timezone.utc)


def tier_id(name: str) -> int:
    return db.session.execute(sa.select(Tier.id).where(Tier.name == name)).scalar_one()


def served(owner, stage: str = "active", tier: str | None = None, last_contact: datetime | None = None,
           **fields):
    """A client in a scanned stage, recently contacted unless told otherwise; flushed."""
    client = make_client(owner)
    client.stage = stage
    client.created_at = NOW - timedelta(days=400)
    client.last_contact_at = last_contact if last_contact is not None else NOW - timedelta(days=1)
    client.tier_id = tier_id(tier) if tier else None
    for name, value in fields.items():
        setattr(client, name, value)
    db.session.flush()
    return client


def snapshots(client, *points: tuple[int, int]) -> None:
    """Asset snapshots given as (days before T, total in fen)."""
    db.session.add_all([AssetSnapshot(client_id=client.id, as_of=T - timedelta(days=days), total_assets_fen=fen)
                        for days, fen in points])
    db.session.flush()


def flags_of(client, open_only: bool = True) -> dict[str, str]:
    query = sa.select(ClientFlag.kind, ClientFlag.reasons).where(ClientFlag.client_id == client.id)
    if open_only:
        query = query.where(ClientFlag.cleared_at.is_(None))
    return dict(db.session.execute(query).all())


def all_flags(client) -> list[ClientFlag]:
    return list(db.session.execute(sa.select(ClientFlag).where(ClientFlag.client_id == client.id)
                                   .order_by(ClientFlag.id)).scalars())


def followups_of(client) -> list[FollowUp]:
    return list(db.session.execute(sa.select(FollowUp).where(FollowUp.client_id == client.id)
                                   .order_by(FollowUp.id)).scalars())


def scanned(now: datetime = NOW) -> scan.ScanReport:
    report = scan_clients(now)
    db.session.commit()
    return report


# --------------------------------------------------------------------------- lifecycle


def test_a_flag_is_raised_once_with_one_followup_for_the_owner(world):
    client = served(world.manager1, last_satisfaction=1)
    early = shanghai(T, 7, 0)  # before 09:00 Shanghai: due at 09:00
    report = scanned(early)
    assert (report.raised_at_risk, report.raised_dormant, report.followups_created) == (1, 0, 1)
    assert report.scanned == 1 and report.cleared == report.updated == 0
    [flag] = all_flags(client)
    assert (flag.kind, flag.reasons, flag.since, flag.cleared_at) == ("at_risk", "low_satisfaction", early, None)
    [followup] = followups_of(client)
    assert followup.assignee_id == world.manager1.id
    assert (followup.source, followup.source_key, followup.kind) == ("flag", f"flag:{flag.id}", "flag")
    assert (followup.priority, followup.status, followup.title) == (1, "open", "at_risk: low_satisfaction")
    assert followup.due_at == shanghai(T, 9, 0)
    assert followup.reminder_at == shanghai(T, 8, 30)


def test_the_followup_is_due_now_when_the_scan_runs_after_nine_and_dormant_is_priority_two(world):
    client = served(world.manager1, last_contact=NOW - timedelta(days=200))
    scanned(NOW)  # 12:00 Shanghai
    [followup] = followups_of(client)
    assert (followup.due_at, followup.priority, followup.title) == (NOW, 2, "dormant: no_contact")


def test_a_second_scan_raises_nothing_and_creates_no_followup(world):
    client = served(world.manager1, last_contact=NOW - timedelta(days=200), last_intent="transfer_out")
    first = scanned(NOW)
    assert (first.raised_dormant, first.raised_at_risk, first.followups_created) == (1, 1, 2)
    for later in (NOW, NOW + timedelta(hours=1), NOW + timedelta(days=1)):
        again = scanned(later)
        assert (again.raised_dormant, again.raised_at_risk, again.followups_created) == (0, 0, 0)
        assert again.cleared == again.updated == 0
    assert len(all_flags(client)) == 2
    assert len(followups_of(client)) == 2


def test_a_visit_clears_the_dormant_flag_and_a_relapse_raises_a_new_one(world):
    client = served(world.manager1, last_contact=NOW - timedelta(days=100))
    scanned(NOW)
    [first] = all_flags(client)
    first_id, since = first.id, first.since

    visit_at = NOW + timedelta(days=2)
    client_service.log_visit(client, world.manager1, {
        "occurred_at": visit_at, "channel": "phone", "summary": "回访", "outcome": "served"})
    db.session.commit()
    later = NOW + timedelta(days=3)
    report = scanned(later)
    assert (report.cleared, report.raised_dormant, report.followups_created) == (1, 0, 0)
    [kept] = all_flags(client)
    assert (kept.id, kept.since, kept.reasons, kept.cleared_at) == (first_id, since, "no_contact", later)
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "flags.scan")
                               .order_by(AuditEvent.id.desc())).scalars().first()
    assert event.params["cleared"] == 1 and "1 cleared" in event.detail

    relapse = visit_at + timedelta(days=91)  # 91 Shanghai days of silence: dormant again
    report = scanned(relapse)
    assert (report.raised_dormant, report.followups_created) == (1, 1)
    old, new = all_flags(client)
    assert old.id == first_id and old.cleared_at == later
    assert new.id != first_id and new.cleared_at is None and new.since == relapse
    assert [f.source_key for f in followups_of(client)] == [f"flag:{first_id}", f"flag:{new.id}"]
    db.session.expire_all()
    assert [f.status for f in followups_of(client)] == ["cancelled", "open"]


def test_a_cleared_flag_leaves_a_completed_follow_up_done(world):
    client = served(world.manager1, last_contact=NOW - timedelta(days=100))
    scanned(NOW)
    [followup] = followups_of(client)
    followup.status = "done"
    client_service.log_visit(client, world.manager1, {
        "occurred_at": NOW + timedelta(days=1), "channel": "phone", "summary": "回访", "outcome": "served"})
    db.session.commit()
    assert scanned(NOW + timedelta(days=2)).cleared == 1
    db.session.expire_all()
    assert [f.status for f in followups_of(client)] == ["done"]


def test_reasons_are_stored_in_order_and_updated_in_place(world):
    client = served(world.manager1, last_satisfaction=1)
    scanned()
    [flag] = all_flags(client)
    flag_id, since = flag.id, flag.since

    client.last_intent = "close_account"
    snapshots(client, (20, 1_000_000), (2, 600_000))
    db.session.commit()
    report = scanned(NOW + timedelta(hours=1))
    assert (report.updated, report.raised_at_risk, report.followups_created) == (1, 0, 0)
    assert flags_of(client) == {"at_risk": "assets_drop,low_satisfaction,leaving_intent"}

    client.last_satisfaction = 5
    db.session.commit()
    scanned(NOW + timedelta(hours=2))
    [flag] = all_flags(client)
    assert (flag.id, flag.since, flag.reasons) == (flag_id, since, "assets_drop,leaving_intent")
    assert len(followups_of(client)) == 1


def test_both_dormant_reasons_together(world):
    client = served(world.manager1, last_contact=NOW - timedelta(days=120))
    snapshots(client, (300, 500), (200, 500))
    scanned()
    assert flags_of(client) == {"dormant": "no_contact,no_asset_activity"}


def test_stage_is_left_alone(world):
    client = served(world.manager1, last_contact=NOW - timedelta(days=300))
    scanned()
    db.session.refresh(client)
    assert client.stage == "active"
    assert flags_of(client) == {"dormant": "no_contact"}


# --------------------------------------------------------------------------- no_contact boundaries


@pytest.mark.parametrize("tier, days", [("普通", 90), ("银卡", 60), ("金卡", 30), ("钻石", 14), (None, 90)])
@pytest.mark.parametrize("beyond, dormant", [(-1, False), (0, False), (1, True)],
                         ids=["N-1 days", "N days", "N+1 days"])
def test_no_contact_boundary_per_tier(world, tier, days, beyond, dormant):
    # Last contact on the Shanghai date T - (N + beyond): N days of silence is not yet dormant.
    last_day = T - timedelta(days=days + beyond)
    client = served(world.manager1, tier=tier, last_contact=shanghai(last_day, 10, 0))
    scanned()
    assert ("dormant" in flags_of(client)) is dormant


@pytest.mark.parametrize("contact, now, dormant", [
    # 23:30 Shanghai is 15:30 UTC the same day: it counts for that Shanghai date.
    (shanghai(T - timedelta(days=90), 23, 30), NOW, False),
    (shanghai(T - timedelta(days=91), 23, 30), NOW, True),
    # 00:30 Shanghai is 16:30 UTC the day before: the Shanghai date decides, not the UTC one.
    (shanghai(T - timedelta(days=90), 0, 30), NOW, False),
    (shanghai(T - timedelta(days=91), 0, 30), NOW, True),
    # The scan at 00:30 Shanghai (16:30 UTC the day before) is already on Shanghai date T.
    (shanghai(T - timedelta(days=91), 23, 59), shanghai(T, 0, 30), True),
    (shanghai(T - timedelta(days=90), 0, 0), shanghai(T, 0, 30), False),
    # And at 23:59 Shanghai it is still T.
    (shanghai(T - timedelta(days=90), 0, 0), shanghai(T, 23, 59), False),
], ids=["23:30 on T-90", "23:30 on T-91", "00:30 on T-90", "00:30 on T-91",
        "scan 00:30, contact T-91 23:59", "scan 00:30, contact T-90 00:00", "scan 23:59, contact T-90 00:00"])
def test_no_contact_counts_shanghai_calendar_days(world, contact, now, dormant):
    client = served(world.manager1, last_contact=contact)
    scanned(now)
    assert ("dormant" in flags_of(client)) is dormant


def test_without_contact_the_account_opening_then_the_creation_date_counts(world):
    opened_long_ago = served(world.manager1, stage="account_opened", last_contact=None)
    opened_long_ago.last_contact_at = None
    opened_long_ago.account_opened_at = NOW - timedelta(days=200)
    opened_recently = served(world.manager1, stage="account_opened")
    opened_recently.last_contact_at = None
    opened_recently.account_opened_at = NOW - timedelta(days=5)  # created 400 days ago
    created_long_ago = served(world.manager1)
    created_long_ago.last_contact_at = None
    db.session.commit()
    scanned()
    assert flags_of(opened_long_ago) == {"dormant": "no_contact"}
    assert flags_of(opened_recently) == {}
    assert flags_of(created_long_ago) == {"dormant": "no_contact"}


def test_the_default_days_setting_applies_to_clients_without_a_tier(world):
    settings.set_int("dormant_default_days", 10, world.admin)
    untiered = served(world.manager1, last_contact=shanghai(T - timedelta(days=11)))
    tiered = served(world.manager1, tier="普通", last_contact=shanghai(T - timedelta(days=11)))
    scanned()
    assert flags_of(untiered) == {"dormant": "no_contact"}
    assert flags_of(tiered) == {}


# --------------------------------------------------------------------------- asset rules


@pytest.mark.parametrize("points, flagged", [
    ([], False),                                          # no snapshot at all: not this reason
    ([(181, 100)], True),                                 # the only snapshot, 181 days old
    ([(180, 100)], False),                                # the first snapshot counts as a change
    ([(300, 100), (180, 200), (10, 200)], False),         # last change exactly 180 days ago
    ([(300, 100), (181, 200), (10, 200)], True),          # last change 181 days ago
    ([(400, 100), (5, 100)], True),                       # a recent snapshot, but no change
    ([(400, 100), (5, 90)], False),                       # a recent change
])
def test_no_asset_activity_window_is_180_days(world, points, flagged):
    client = served(world.manager1)
    snapshots(client, *points)
    scanned()
    assert flags_of(client) == ({"dormant": "no_asset_activity"} if flagged else {})


@pytest.mark.parametrize("points, flagged", [
    ([(20, 1000), (1, 710)], False),                      # down 29 %
    ([(20, 1000), (1, 700)], True),                       # down 30 %
    ([(20, 1000), (1, 0)], True),                         # down 100 %
    ([(50, 1000), (25, 500), (1, 500)], False),           # the drop happened before the window
    ([(60, 1000), (31, 500)], False),                     # the latest snapshot is older than 30 days
    ([(60, 1000), (30, 500)], True),                      # latest 30 days ago, peak 30 days before it
    ([(61, 1000), (30, 500)], False),                     # peak 31 days before the latest
    ([(20, 0), (1, 0)], False),                           # nothing to lose
    ([(20, 500), (10, 1000), (1, 1000)], False),          # up, not down
    ([(20, 10**17), (1, 7 * 10**16)], True),              # huge amounts...
    ([(20, 10**17), (1, 95 * 10**15)], False),            # ...and no BIGINT overflow in total * 100
])
def test_assets_drop_of_30_percent_within_30_days(world, points, flagged):
    client = served(world.manager1)
    snapshots(client, *points)
    scanned()
    assert ("assets_drop" in flags_of(client).get("at_risk", "")) is flagged


@pytest.mark.parametrize("satisfaction, flagged", [(1, True), (2, True), (3, False), (5, False), (None, False)])
def test_low_satisfaction_is_two_or_less(world, satisfaction, flagged):
    client = served(world.manager1, last_satisfaction=satisfaction)
    scanned()
    assert flags_of(client) == ({"at_risk": "low_satisfaction"} if flagged else {})


@pytest.mark.parametrize("intent, flagged", [("transfer_out", True), ("close_account", True), (None, False)])
def test_leaving_intent(world, intent, flagged):
    client = served(world.manager1, last_intent=intent)
    scanned()
    assert flags_of(client) == ({"at_risk": "leaving_intent"} if flagged else {})


@pytest.mark.parametrize("stage", ["prospect", "contacted", "lost"])
def test_prospects_and_lost_clients_are_never_flagged(world, stage):
    client = served(world.manager1, stage=stage, last_contact=NOW - timedelta(days=500),
                    last_satisfaction=1, last_intent="close_account")
    snapshots(client, (20, 1000), (1, 100))
    report = scanned()
    assert flags_of(client, open_only=False) == {}
    assert report.scanned == 0


def test_a_client_who_leaves_the_scanned_stages_has_its_flags_cleared(world):
    client = served(world.manager1, stage="dormant", last_contact=NOW - timedelta(days=500))
    scanned()
    assert flags_of(client) == {"dormant": "no_contact"}
    client.stage = "lost"
    db.session.commit()
    report = scanned(NOW + timedelta(hours=1))
    assert report.cleared == 1
    assert flags_of(client) == {}


def test_an_extra_source_adds_its_reason_in_order(world, monkeypatch):
    from crm.models import Client

    target = served(world.manager1, last_satisfaction=1, last_intent="transfer_out")
    other = served(world.manager1)
    monkeypatch.setattr(scan, "EXTRA_SOURCES", [
        ReasonSource("complaint_overdue", lambda ctx: sa.select(Client.id).where(Client.id == target.id))])
    scanned()
    assert flags_of(target) == {"at_risk": "complaint_overdue,low_satisfaction,leaving_intent"}
    assert flags_of(other) == {}


# --------------------------------------------------------------------------- readers


def test_readers_list_open_flags(world):
    mine = served(world.manager1, last_contact=NOW - timedelta(days=200), last_satisfaction=1)
    theirs = served(world.other_manager, last_intent="transfer_out")
    calm = served(world.manager1)
    scanned()
    assert [(f.kind, f.reasons) for f in scan.open_flags(mine.id)] == [
        ("at_risk", "low_satisfaction"), ("dormant", "no_contact")]
    assert scan.open_flag_kinds([mine.id, theirs.id, calm.id]) == {
        mine.id: {"at_risk", "dormant"}, theirs.id: {"at_risk"}}
    listed = scan.flags_for_owner_ids([world.manager1.id, world.manager2.id])
    assert [(f.client.id, f.kind) for f in listed] == [(mine.id, "at_risk"), (mine.id, "dormant")]
    assert [f.kind for f in scan.flags_for_owner_ids([world.manager1.id], kind="dormant")] == ["dormant"]
    assert scan.flags_for_owner_ids([]) == []
    assert scan.reason_codes(listed[0]) == ["low_satisfaction"]


# --------------------------------------------------------------------------- set-based


def _statements_for(world, n_clients: int) -> tuple[int, scan.ScanReport]:
    for i in range(n_clients):
        client = served(world.manager1, last_contact=NOW - timedelta(days=10 + 30 * (i % 5)),
                        last_satisfaction=(i % 5) + 1, last_intent="transfer_out" if i % 7 == 0 else None)
        snapshots(client, (40, 1000 + i), (20, 1000), (2, 500 + 100 * (i % 5)))
    db.session.commit()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        report = scan_clients(NOW)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    db.session.rollback()
    return len(statements), report


def test_the_number_of_statements_does_not_grow_with_the_clients(app, world):
    small, small_report = _statements_for(world, 10)
    large, large_report = _statements_for(world, 90)  # 100 clients in all
    assert large_report.scanned == 100 and small_report.scanned == 10
    assert large_report.followups_created > small_report.followups_created > 0
    assert small == large
    assert small <= 25


# --------------------------------------------------------------------------- go-live: a cap per manager and day

def test_new_flag_follow_ups_are_spread_over_working_days_at_risk_first(world):
    """3 a day: 2 at-risk + 9 dormant for manager1 fill today (Wednesday), then the next working days
    (Thursday is made a holiday, the weekend is skipped); manager2's single flag is due today."""
    from crm.models import WorkdayOverride

    settings.set_int("flag_followups_per_day", 3, world.admin)
    db.session.add(WorkdayOverride(day=date(2026, 11, 26), is_working_day=False, note="测试假日"))
    at_risk = [served(world.manager1, last_satisfaction=1) for _ in range(2)]
    dormant = [served(world.manager1, last_contact=NOW - timedelta(days=200)) for _ in range(9)]
    other = served(world.manager2, last_contact=NOW - timedelta(days=200))
    db.session.commit()
    report = scanned()
    assert report.followups_created == 12

    def due_of(client):
        [followup] = followups_of(client)
        return followup.due_at

    assert [due_of(c) for c in at_risk] == [NOW, NOW]
    assert [due_of(c) for c in dormant] == [NOW] + [shanghai(date(2026, 11, 27), 9)] * 3 + [
        shanghai(date(2026, 11, 30), 9)] * 3 + [shanghai(date(2026, 12, 1), 9)] * 2
    assert due_of(other) == NOW
    assert all(f.reminder_at == f.due_at - timedelta(minutes=30) for c in dormant for f in followups_of(c))
    assert scanned().followups_created == 0  # a second scan adds nothing
