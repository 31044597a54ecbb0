"""Sign-in throttling that slows guessing without locking the real owner out, and the audit of failures.

Every sign-in whose password was checked is a `SignInAttempt` row, in the database that every web
process shares, so the limits hold with any number of workers and without Redis. Three counts, over
the last `CRM_SIGNIN_WINDOW_MINUTES` (15):

- **this username from this address** (the guesser's own pair): after `CRM_SIGNIN_FAILURES` (5)
  failures each next try waits 30 s, then 60, 120 … at most `CRM_SIGNIN_MAX_DELAY_SECONDS` (300),
  counted from the pair's last failure. A success from the pair clears it.
- **this username from every address**: past `CRM_SIGNIN_ACCOUNT_FAILURES` (20), an address that
  has itself just failed on this username waits `CRM_SIGNIN_ACCOUNT_DELAY_SECONDS` (60) before its
  next try. An address that has not failed (the owner at the outlet) tries at once, so failures from
  elsewhere, however many, never keep the owner out.
- **every username from this address** (an outlet's NAT): past `CRM_SIGNIN_ADDRESS_FAILURES` (100)
  failures, any try from the address waits `CRM_SIGNIN_ADDRESS_DELAY_SECONDS` (60) after its last
  failure. Successes never count.

A throttled try is refused before the password is looked at and is not stored as an attempt: waiting
it out is the only way to another guess, and hammering cannot lengthen anyone's delay. The decision
reads only the typed username and the address, so it is the same whether the account exists.
When an active account collects `CRM_SIGNIN_NOTIFY_FAILURES` (10) failures within an hour its owner
is emailed, at most once an hour. Attempts older than a day are deleted on each successful sign-in.
Two tries racing in two processes can both pass the check: the limits can be exceeded by the number
of tries in flight at once, never more.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from crm.extensions import db
from crm.models import AuditEvent, OutboxEmail, SignInAttempt, User, utcnow
from crm.services import audit, mail, users

KEEP = timedelta(days=1)
NOTIFY_WINDOW = timedelta(hours=1)
MAX_ADDRESSES_NAMED = 5  # in the owner's email

# Which count made a try wait (labels.SIGN_IN_THROTTLE_SCOPES names them for the audit trail).
PAIR, ACCOUNT, ADDRESS = "account_address", "account", "address"


@dataclass(frozen=True)
class Limits:
    """The throttle's settings (CRM_SIGNIN_*), read from the app config."""

    window_minutes: int = 15
    failures: int = 5
    delay_seconds: int = 30
    max_delay_seconds: int = 300
    account_failures: int = 20
    account_delay_seconds: int = 60
    address_failures: int = 100
    address_delay_seconds: int = 60
    notify_failures: int = 10

    @classmethod
    def from_config(cls, config: Mapping) -> Limits:
        """The limits in `config` (CRM_SIGNIN_FAILURES ...), defaults for those not set."""
        values = {name: config[f"CRM_SIGNIN_{name.upper()}"] for name in cls.__dataclass_fields__
                  if f"CRM_SIGNIN_{name.upper()}" in config}
        return cls(**values)

    @property
    def window(self) -> timedelta:
        """How far back failures count."""
        return timedelta(minutes=self.window_minutes)

    def pair_delay(self, failures: int) -> int:
        """Seconds to wait after the pair's last failure: 0 below the threshold, then doubling up to the cap."""
        if failures < self.failures:
            return 0
        doublings = min(failures - self.failures, 30)
        return min(self.delay_seconds * 2 ** doublings, self.max_delay_seconds)


@dataclass(frozen=True)
class Wait:
    """A try that must wait: how many seconds, and which count (PAIR, ACCOUNT or ADDRESS) said so."""

    seconds: int
    scope: str


def limits() -> Limits:
    """The configured limits."""
    return Limits.from_config(current_app.config)


def username_key(username: str | None) -> str:
    """What attempts are counted under: the username as typed, stripped, lower-cased, at most 80 characters."""
    return (username or "").strip().lower()[:80]


def _address(address: str | None) -> str:
    return (address or "")[:64]


def _failures(*conditions) -> sa.Select:
    """Count and latest time of failed attempts matching `conditions`."""
    return sa.select(sa.func.count(SignInAttempt.id), sa.func.max(SignInAttempt.at)).where(
        SignInAttempt.succeeded.is_(False), *conditions)


def wait_for(username: str | None, address: str | None, now: datetime | None = None,
             rules: Limits | None = None) -> Wait | None:
    """How long a try of `username` from `address` must wait before its password may be checked; None: go ahead."""
    now = now or utcnow()
    rules = rules or limits()
    key, address = username_key(username), _address(address)
    since = now - rules.window
    pair = (SignInAttempt.username_key == key, SignInAttempt.address == address)
    last_success = db.session.execute(
        sa.select(sa.func.max(SignInAttempt.at)).where(*pair, SignInAttempt.succeeded.is_(True),
                                                        SignInAttempt.at >= since)).scalar()
    pair_count, pair_last = db.session.execute(
        _failures(*pair, SignInAttempt.at >= since,
                  *([SignInAttempt.at > last_success] if last_success else []))).one()
    until: list[tuple[datetime, str]] = []
    if pair_count:
        delay = rules.pair_delay(pair_count)
        if delay:
            until.append((pair_last + timedelta(seconds=delay), PAIR))
        account_count = db.session.execute(
            _failures(SignInAttempt.username_key == key, SignInAttempt.at >= since)).one()[0]
        if account_count >= rules.account_failures:
            until.append((pair_last + timedelta(seconds=rules.account_delay_seconds), ACCOUNT))
    address_count, address_last = db.session.execute(
        _failures(SignInAttempt.address == address, SignInAttempt.at >= since)).one()
    if address_count >= rules.address_failures:
        until.append((address_last + timedelta(seconds=rules.address_delay_seconds), ADDRESS))
    if not until:
        return None
    latest, scope = max(until, key=lambda item: item[0])
    seconds = math.ceil((latest - now).total_seconds())
    return Wait(seconds, scope) if seconds > 0 else None


def record_failure(username: str | None, address: str | None, now: datetime | None = None) -> Wait | None:
    """Store and audit a failed sign-in; audit a delay it starts and tell the owner of repeated failures.

    Returns the wait the next try from this address must make (None when it may try at once). Flushes;
    the caller commits.
    """
    now = now or utcnow()
    rules = limits()
    user = users.find_user(username or "")
    address = _address(address)
    db.session.add(SignInAttempt(username_key=username_key(username), address=address,
                                 user_id=user.id if user else None, succeeded=False, at=now))
    db.session.flush()
    named = user.username if user else (username or "").strip()[:40]
    audit.record(user, "auth.sign_in_failed", "user", user.id if user else None, remote_addr=address,
                 params={"username": named}).at = now
    wait = wait_for(username, address, now, rules)
    if wait is not None:
        audit.record(user, "auth.throttled", "user", user.id if user else None, remote_addr=address,
                     params={"username": named, "seconds": wait.seconds, "scope": wait.scope}).at = now
    if user is not None and user.active:
        notify_owner(user, now, rules)
    return wait


def record_success(user: User, username: str | None, address: str | None, now: datetime | None = None) -> None:
    """Store a successful sign-in (it clears this username's delays from this address) and purge old attempts."""
    now = now or utcnow()
    db.session.add(SignInAttempt(username_key=username_key(username), address=_address(address),
                                 user_id=user.id, succeeded=True, at=now))
    purge(now)
    db.session.flush()


def purge(now: datetime | None = None) -> int:
    """Delete attempts older than a day (nothing looks further back); the number deleted."""
    cutoff = (now or utcnow()) - KEEP
    return db.session.execute(sa.delete(SignInAttempt).where(SignInAttempt.at < cutoff)).rowcount


def notify_owner(user: User, now: datetime | None = None, rules: Limits | None = None) -> bool:
    """Email `user` about the last hour's failed sign-ins once they reach the threshold, at most once an hour.

    The email and its `auth.failures_notified` audit row go out with the failure's transaction. The
    once-an-hour check reads that audit row; the outbox's unique key (user and hour) keeps two
    processes racing at the threshold from both sending.
    """
    now = now or utcnow()
    rules = rules or limits()
    since = now - NOTIFY_WINDOW
    failed = (SignInAttempt.user_id == user.id, SignInAttempt.succeeded.is_(False), SignInAttempt.at >= since)
    count = db.session.execute(sa.select(sa.func.count(SignInAttempt.id)).where(*failed)).scalar()
    if count < rules.notify_failures or not user.email:
        return False
    already = db.session.execute(sa.select(AuditEvent.id).where(
        AuditEvent.action == "auth.failures_notified", AuditEvent.object_type == "user",
        AuditEvent.object_id == user.id, AuditEvent.at > since).limit(1)).first()
    if already is not None:
        return False
    addresses = [address or "?" for address, _ in db.session.execute(
        sa.select(SignInAttempt.address, sa.func.count(SignInAttempt.id)).where(*failed)
        .group_by(SignInAttempt.address).order_by(sa.func.count(SignInAttempt.id).desc(), SignInAttempt.address))]
    key = f"signin-failures:{user.id}:{now:%Y%m%d%H}"
    if db.session.execute(sa.select(OutboxEmail.id).where(OutboxEmail.dedupe_key == key)).first() is not None:
        return False
    try:
        with db.session.begin_nested():
            email = mail.queue(user, "signin_failures", dedupe_key=key, send_after=now, count=count,
                               addresses=addresses[:MAX_ADDRESSES_NAMED],
                               more_addresses=max(len(addresses) - MAX_ADDRESSES_NAMED, 0))
    except IntegrityError:
        return False  # another process queued it a moment ago
    if email is None:
        return False
    event = audit.record(None, "auth.failures_notified", "user", user.id,
                         params={"username": user.username, "failures": count,
                                 "addresses": addresses[:MAX_ADDRESSES_NAMED]})
    event.at = now
    return True
