"""First claim wins on the real database (SQLite file, or PostgreSQL with CRM_TEST_DATABASE_URL): two claims
at once, each in its own thread with its own session and connection, started together by a barrier."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import AuditEvent, Client, PoolEvent, User
from crm.services import pool
from tests.factories import make_client

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def _pooled(world) -> int:
    client = make_client(world.manager1, name="赵六")
    client.created_at = client.protection_started_at = T0
    pool.release_lapsed(T0 + timedelta(days=7))
    db.session.commit()
    return client.id


def _race(app, client_id: int, work) -> tuple[list, list]:
    """Run `work(user_id)` for manager2 and the lead at the same instant; their outcomes and refusals."""
    start = threading.Barrier(2)
    won, refused, errors = [], [], []

    def attempt(username: str) -> None:
        try:
            with app.app_context():
                user = db.session.execute(sa.select(User).where(User.username == username)).scalar_one()
                start.wait()
                try:
                    work(client_id, user)
                    db.session.commit()
                    won.append(username)
                except RuleError as refusal:
                    db.session.rollback()
                    refused.append((username, refusal.code))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(name,)) for name in ("manager2", "lead")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [], errors
    return won, refused


def _claims(client_id: int) -> list[PoolEvent]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(PoolEvent).where(PoolEvent.client_id == client_id,
                                                              PoolEvent.kind != "release")).scalars())


def test_two_concurrent_claims_give_one_owner(app, world):
    client_id = _pooled(world)
    for _ in range(3):  # a few rounds: the order of the two differs from run to run
        won, refused = _race(app, client_id, lambda cid, user: pool.claim(cid, user))
        assert len(won) == 1 and [code for _, code in refused] == ["pool.already_claimed"], (won, refused)
        claims = _claims(client_id)
        assert len(claims) == 1 and claims[0].kind == "claim"
        winner = db.session.execute(sa.select(User).where(User.username == won[0])).scalar_one()
        client = db.session.get(Client, client_id)
        assert (client.owner_id, client.pool_team_id) == (winner.id, None)
        assert claims[0].to_user_id == winner.id
        assert db.session.execute(sa.select(sa.func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "pool.claim")).scalar_one() == 1
        # Back to the pool for the next round.
        db.session.execute(sa.delete(PoolEvent).where(PoolEvent.kind != "release"))
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.action == "pool.claim"))
        client.pool_team_id, client.owner_id = world.team.id, world.manager1.id
        db.session.commit()


def test_a_claim_racing_a_leads_assignment_gives_one_owner(app, world):
    client_id = _pooled(world)
    manager2_id = world.manager2.id

    def take(cid, user):
        if user.username == "lead":
            pool.assign(cid, user, db.session.get(User, manager2_id))
        else:
            pool.claim(cid, user)

    won, refused = _race(app, client_id, take)
    assert len(won) == 1 and len(refused) == 1, (won, refused)
    assert len(_claims(client_id)) == 1
    assert db.session.get(Client, client_id).owner_id == manager2_id
