"""Protection period (保护期): how long a prospect stays its owner's without a contact.

A prospect is protected until the later of when its period started (capture, claim or assignment; the
creation time for records from before) and its last contact, plus `days` calendar days, to the exact
instant; a lead's extension (`extended_until`) holds it while that instant is still ahead. Only a
prospect or a contacted prospect without an opened account can lapse; the service adds that the prospect
is not already in a pool and that its owner has a team (else there is no pool to go to).
"""
from __future__ import annotations

from datetime import datetime, timedelta

# The stages in which a lapsed protection sends a prospect to the team pool.
RELEASABLE_STAGES = ("prospect", "contacted")
# A lead extends a protection at most this far ahead.
MAX_EXTENSION = timedelta(days=90)


def period_start(started_at: datetime | None, created_at: datetime, last_contact_at: datetime | None) -> datetime:
    """The instant the current period runs from: the later of its start (else creation) and the last contact."""
    start = started_at or created_at
    return max(start, last_contact_at) if last_contact_at is not None else start


def protected_until(started_at: datetime | None, created_at: datetime, last_contact_at: datetime | None,
                    extended_until: datetime | None, days: int) -> datetime:
    """The instant the protection ends: the period's end, or a lead's later extension."""
    end = period_start(started_at, created_at, last_contact_at) + timedelta(days=days)
    return max(end, extended_until) if extended_until is not None else end


def release_cutoff(now: datetime, days: int) -> datetime:
    """A period that started at or before this instant has lapsed at `now` (the same rule, for a query)."""
    return now - timedelta(days=days)


def lapsed(*, stage: str, account_opened: bool, started_at: datetime | None, created_at: datetime,
           last_contact_at: datetime | None, extended_until: datetime | None, days: int, now: datetime) -> bool:
    """Tell whether the prospect's protection has ended at `now` (released when now >= the end)."""
    if stage not in RELEASABLE_STAGES or account_opened:
        return False
    return now >= protected_until(started_at, created_at, last_contact_at, extended_until, days)
