"""Follow-up sources as columns: one builder per kind, and the migration that fills them from old keys."""
from __future__ import annotations

import importlib.util
import math
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from crm.extensions import db
from crm.models import ClientFlag, ComplaintEvent, FollowUp, utcnow
from crm.services import complaints, followup_sources, plans
from tests.factories import make_client, make_visit

BEFORE = "eaf33577eada"  # the head before follow-up sources became columns
COLUMNS = ("plan_item_id", "plan_id", "occurs_on", "flag_id", "visit_id", "complaint_id", "complaint_event_id",
           "sample_year")
COMPLAINT = {"complainant_name": "张三", "channel": "outlet", "category": "fees", "facts": "多收了手续费"}


def test_every_builder_gives_the_key_it_always_had_and_the_columns_it_refers_to():
    day = date(2026, 9, 20)
    assert followup_sources.plan_item(7, 3, day) == {
        "source": "plan", "source_key": "plan-item:7:2026-09-20", "plan_item_id": 7, "plan_id": 3, "occurs_on": day}
    assert followup_sources.plan_review(3, day) == {
        "source": "plan", "source_key": "plan-review:3:2026-09-20", "plan_id": 3, "occurs_on": day}
    assert followup_sources.flag(5) == {"source": "flag", "source_key": "flag:5", "flag_id": 5}
    assert followup_sources.visit(9) == {"source": "visit", "source_key": "visit:9", "visit_id": 9}
    assert followup_sources.new_account(4) == {"source": "callback", "source_key": "new-account:4"}
    assert followup_sources.callback_sample(2026, 4) == {
        "source": "callback", "source_key": "callback-sample:2026:4", "sample_year": 2026}
    assert followup_sources.complaint_ack(2) == {
        "source": "complaint", "source_key": "complaint:2:ack", "complaint_id": 2}
    assert followup_sources.complaint_resolve(2, 8) == {
        "source": "complaint", "source_key": "complaint:2:resolve:8", "complaint_id": 2, "complaint_event_id": 8}


def test_the_set_based_flag_key_is_the_same_string_as_the_one_built_in_python(app):
    columns = followup_sources.flag_columns(sa.literal(41, sa.Integer))
    key, flag_id = db.session.execute(sa.select(columns["source_key"], columns["flag_id"])).one()
    assert (key, flag_id) == (followup_sources.flag(41)["source_key"], 41)


def _source_columns() -> dict[str, dict]:
    table = sa.table("follow_ups", sa.column("source_key"), sa.column("occurs_on", sa.Date),
                     *(sa.column(name) for name in COLUMNS if name != "occurs_on"))
    return {row.source_key: {name: getattr(row, name) for name in COLUMNS if getattr(row, name) is not None}
            for row in db.session.execute(sa.select(table)).all()}


def _old_keys(world) -> tuple[int, dict[tuple[str, str], dict]]:
    """Records of every kind a key refers to: their client, and the (source, key) pairs written before the
    migration with the columns each must get."""
    client = make_client(world.manager1, name="李四")
    visit = make_visit(client, world.manager1)
    flag = ClientFlag(client_id=client.id, kind="dormant", reasons="no_contact", since=utcnow())
    db.session.add(flag)
    template = plans.templates(active_only=True)[0]
    plan = plans.start_plan(client, world.manager1, template, "").plan
    complaint = complaints.register(world.manager1, COMPLAINT, client=client)
    db.session.flush()
    item = plan.items[0]
    event_id = db.session.execute(sa.select(sa.func.min(ComplaintEvent.id))
                                  .where(ComplaintEvent.complaint_id == complaint.id)).scalar_one()
    client_id, complaint_id = client.id, complaint.id
    return client_id, {
        ("plan", f"plan-item:{item.id}:2026-09-20"): {"plan_item_id": item.id, "plan_id": plan.id,
                                                  "occurs_on": date(2026, 9, 20)},
        ("plan", f"plan-item:{10**6}:2026-09-21"): {"occurs_on": date(2026, 9, 21)},  # an item that is gone
        ("plan", f"plan-review:{plan.id}:2027-09-20"): {"plan_id": plan.id, "occurs_on": date(2027, 9, 20)},
        ("flag", f"flag:{flag.id}"): {"flag_id": flag.id},
        ("flag", f"flag:{10**20}"): {},  # a number no id can be
        ("visit", f"visit:{visit.id}"): {"visit_id": visit.id},
        ("callback", f"new-account:{client_id}"): {},
        ("callback", f"callback-sample:2026:{client_id}"): {"sample_year": 2026},
        ("complaint", f"complaint:{complaint_id}:ack"): {"complaint_id": complaint_id},
        ("complaint", f"complaint:{complaint_id}:resolve:{event_id}"): {
            "complaint_id": complaint_id, "complaint_event_id": event_id},
        ("complaint", f"complaint:{10**6}:resolve:{10**6}"): {},  # a complaint and event that are gone
        ("flag", "flag:test"): {},  # written by hand: nothing to refer to, and no failure
    }


def _write_old_rows(conn, old_keys: dict[tuple[str, str], dict], client_id: int, assignee_id: int) -> None:
    old = sa.table("follow_ups", *(sa.column(name) for name in (
        "client_id", "assignee_id", "due_at", "kind", "priority", "status", "source", "source_key", "title", "note",
        "snooze_reason", "created_at", "version")))
    conn.execute(sa.insert(old), [
        {"client_id": client_id, "assignee_id": assignee_id, "due_at": utcnow().replace(tzinfo=None),
         "kind": "call", "priority": 2, "status": "open", "source": source, "source_key": key, "title": "",
         "note": "", "snooze_reason": "", "created_at": utcnow().replace(tzinfo=None), "version": 1}
        for source, key in old_keys])


def test_the_migration_fills_the_columns_of_every_kind_from_the_keys_written_before_it(app, world):
    client_id, old_keys = _old_keys(world)
    manager_id = world.manager1.id  # a plain id: the downgrade below ends the session the objects belong to
    db.session.execute(sa.delete(FollowUp))
    db.session.commit()
    db.session.remove()

    downgrade(revision=BEFORE)
    with db.engine.begin() as conn:
        assert "plan_item_id" not in {c["name"] for c in sa.inspect(conn).get_columns("follow_ups")}
        _write_old_rows(conn, old_keys, client_id, manager_id)
    upgrade()

    found = _source_columns()
    assert found == {key: columns for (_, key), columns in old_keys.items()}


def _migration():
    path = Path(__file__).parents[1] / "migrations" / "versions"
    spec = importlib.util.spec_from_file_location("follow_up_sources_migration", next(path.glob("255cfbca2f49_*.py")))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_backfill_walks_the_follow_ups_in_batches_and_gives_the_same_columns(app, world, monkeypatch):
    migration = _migration()
    monkeypatch.setattr(migration, "BATCH", 3)
    client_id, old_keys = _old_keys(world)
    db.session.execute(sa.delete(FollowUp))
    _write_old_rows(db.session.connection(), old_keys, client_id, world.manager1.id)
    keyset_reads = []

    def count_keyset_reads(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM follow_ups" in statement:
            keyset_reads.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count_keyset_reads)
    try:
        migration._backfill(db.session.connection())
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count_keyset_reads)

    assert len(keyset_reads) == math.ceil(len(old_keys) / 3) + 1  # full batches, then the read that finds none
    assert _source_columns() == {key: columns for (_, key), columns in old_keys.items()}


def test_the_scan_writes_the_flag_on_its_follow_up_and_cancels_that_one_when_the_flag_clears(world):
    from datetime import datetime, timedelta, timezone

    from crm.services import clients as client_service
    from crm.services.scan import scan_clients

    now = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)
    quiet, other = (make_client(world.manager1, name=name) for name in ("王五", "赵六"))
    for client in (quiet, other):
        client.stage, client.created_at = "active", now - timedelta(days=400)
        client.last_contact_at = now - timedelta(days=100)  # dormant
    scan_clients(now)
    db.session.commit()
    flags = {f.client_id: f.id for f in db.session.execute(sa.select(ClientFlag)).scalars()}
    found = db.session.execute(sa.select(FollowUp.client_id, FollowUp.source_key, FollowUp.flag_id)).all()
    assert sorted(found) == sorted((client_id, f"flag:{flag_id}", flag_id) for client_id, flag_id in flags.items())

    client_service.log_visit(quiet, world.manager1, {"occurred_at": now + timedelta(days=1), "channel": "phone",
                                                     "summary": "回访", "outcome": "served"})
    db.session.commit()
    scan_clients(now + timedelta(days=2))
    db.session.commit()
    db.session.expire_all()
    assert dict(db.session.execute(sa.select(FollowUp.flag_id, FollowUp.status)).all()) == {
        flags[quiet.id]: "cancelled", flags[other.id]: "open"}
