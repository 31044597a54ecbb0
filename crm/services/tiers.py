"""Client tiers: put each client in the tier of its latest asset snapshot, and log every change.

Set-based: a few statements whatever the number of clients, never one per client. Clients without
a snapshot keep their tier. Services flush; the caller commits.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Client, TierChange, utcnow
from crm.models.base import UTCDateTime
from crm.services import dialect

__all__ = ["recompute_tiers", "recompute_where", "tier_changes_of"]

# Each client's latest snapshot and the tier it falls in (the highest threshold not above it).
# `{clients}` filters the clients considered.
_TARGET_SQL = """
SELECT x.client_id, x.from_tier_id, x.assets_fen,
       (SELECT t.id FROM tiers t WHERE t.min_assets_fen <= x.assets_fen
        ORDER BY t.min_assets_fen DESC LIMIT 1) AS to_tier_id
FROM (SELECT c.id AS client_id, c.tier_id AS from_tier_id,
             (SELECT s.total_assets_fen FROM asset_snapshots s WHERE s.client_id = c.id
              ORDER BY s.as_of DESC LIMIT 1) AS assets_fen
      FROM clients c WHERE {clients}) x
WHERE x.assets_fen IS NOT NULL
"""

# PostgreSQL: one statement computes the targets once, logs the changes and moves the clients.
_PG_RECOMPUTE_SQL = """
WITH target AS ({target}),
changed AS (
    INSERT INTO tier_changes (client_id, from_tier_id, to_tier_id, assets_fen, changed_at, source)
    SELECT client_id, from_tier_id, to_tier_id, assets_fen, :now, CAST(:source AS VARCHAR(20))
    FROM target WHERE from_tier_id IS DISTINCT FROM to_tier_id
    RETURNING client_id, to_tier_id)
UPDATE clients SET tier_id = changed.to_tier_id FROM changed WHERE clients.id = changed.client_id
"""

# SQLite (no data-modifying CTEs): log the changes, then move the clients. IS NOT is its
# null-safe "differs" (IS DISTINCT FROM only exists since 3.39).
_SQLITE_INSERT_CHANGES_SQL = """
INSERT INTO tier_changes (client_id, from_tier_id, to_tier_id, assets_fen, changed_at, source)
SELECT y.client_id, y.from_tier_id, y.to_tier_id, y.assets_fen, :now, :source
FROM ({target}) y
WHERE y.from_tier_id IS NOT y.to_tier_id
"""

_SQLITE_UPDATE_CLIENTS_SQL = """
UPDATE clients SET tier_id = y.to_tier_id
FROM ({target}) y
WHERE clients.id = y.client_id AND clients.tier_id IS NOT y.to_tier_id
"""

_ALL_WITH_SNAPSHOTS = "EXISTS (SELECT 1 FROM asset_snapshots s0 WHERE s0.client_id = c.id)"


def _bind(sql: str, **extra: sa.BindParameter) -> sa.TextClause:
    return sa.text(sql).bindparams(sa.bindparam("now", type_=UTCDateTime()),
                                   sa.bindparam("source", type_=sa.String), *extra.values())


def _expire_tiers(client_ids: set[int] | None) -> None:
    """The statements bypassed the ORM: loaded clients (these, or all) must re-read their tier."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Client) and (client_ids is None or obj.id in client_ids):
            db.session.expire(obj, ["tier_id", "tier"])


def recompute_tiers(client_ids: Sequence[int] | None = None, source: str = "import") -> int:
    """Put clients in the tier of their latest snapshot; log each change. Returns the changes made.

    Set-based, for the given clients or (None) every client with a snapshot; clients without
    snapshots keep their tier. PostgreSQL: one statement per 100,000 clients (a CTE that inserts
    the tier changes and updates the clients). SQLite: per 5,000 clients, an INSERT ... SELECT of
    the tier changes and an UPDATE ... FROM of the clients.
    """
    db.session.flush()
    params = {"now": utcnow(), "source": source}
    changed = 0
    if dialect.is_postgresql():
        if client_ids is None:
            batches = [(_ALL_WITH_SNAPSHOTS, {})]
        else:
            batches = [("c.id = ANY(CAST(:ids AS INTEGER[]))", {"ids": list(chunk)})
                       for chunk in dialect.chunks(sorted(set(client_ids)), dialect.PG_CHUNK)]
        for condition, ids in batches:
            statement = _bind(_PG_RECOMPUTE_SQL.format(target=_TARGET_SQL.format(clients=condition)))
            changed += db.session.execute(statement, {**params, **ids}).rowcount
    else:
        if client_ids is None:
            batches = [(_ALL_WITH_SNAPSHOTS, {}, {})]
        else:
            expanding = {"ids": sa.bindparam("ids", expanding=True)}
            batches = [("c.id IN :ids", {"ids": list(chunk)}, expanding)
                       for chunk in dialect.chunks(sorted(set(client_ids)), dialect.SQLITE_CHUNK)]
        for condition, ids, extra in batches:
            target = _TARGET_SQL.format(clients=condition)
            insert = _bind(_SQLITE_INSERT_CHANGES_SQL.format(target=target), **extra)
            update = sa.text(_SQLITE_UPDATE_CLIENTS_SQL.format(target=target)).bindparams(*extra.values())
            changed += db.session.execute(insert, {**params, **ids}).rowcount
            db.session.execute(update, ids)
    _expire_tiers(None if client_ids is None else set(client_ids))
    return changed


def recompute_where(condition: str, source: str) -> int:
    """recompute_tiers for the clients that `condition` (SQL on clients `c`) selects, in one pass.

    `condition` is SQL text written by the caller, never user input (e.g. the clients of an import's
    temporary table).
    """
    params = {"now": utcnow(), "source": source}
    target = _TARGET_SQL.format(clients=condition)
    if dialect.is_postgresql():
        changed = db.session.execute(_bind(_PG_RECOMPUTE_SQL.format(target=target)), params).rowcount
    else:
        changed = db.session.execute(_bind(_SQLITE_INSERT_CHANGES_SQL.format(target=target)), params).rowcount
        db.session.execute(sa.text(_SQLITE_UPDATE_CLIENTS_SQL.format(target=target)))
    _expire_tiers(None)
    return changed


def tier_changes_of(client: Client, limit: int = 50) -> list[TierChange]:
    """A client's tier changes, newest first (for the client's asset page and timeline)."""
    query = (sa.select(TierChange).where(TierChange.client_id == client.id)
             .order_by(TierChange.changed_at.desc(), TierChange.id.desc()).limit(limit))
    return list(db.session.execute(query).scalars())
