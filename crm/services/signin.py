"""Sign-in throttling that slows guessing without locking the real owner out, and the audit of failures.

Every sign-in whose password was checked is a `SignInAttempt` row, in the database that every web
process shares, so the limits hold with any number of workers and without Redis. Addresses are
counted by network: an IPv4 address as it is, an IPv6 address by its /64 (one household or phone
line hands out a whole /64, so rotating within it gains nothing).

A browser where a username once signed in carries a **device key** for it (the `crm_device` cookie,
180 days, a random nonce per username signed with the secret key; OWASP's "device cookies"). A try
presenting a valid device key for the username typed is counted only against failures carrying that
same key: after `CRM_SIGNIN_FAILURES` (5) of them each next try waits 30 s, doubling to 300 s, like
the pair rule below; a success with the key clears it. Nothing anyone else does slows it down.

Tries without a valid device key, over the last `CRM_SIGNIN_WINDOW_MINUTES` (15), counting only
failures without one:

- **this username from this network** (the guesser's own pair): after `CRM_SIGNIN_FAILURES` (5)
  failures each next try waits 30 s, then 60, 120 … at most `CRM_SIGNIN_MAX_DELAY_SECONDS` (300),
  counted from the pair's last failure. A success from the pair clears it.
- **this username from every network**: past `CRM_SIGNIN_ACCOUNT_FAILURES` (20), every try of the
  username waits `CRM_SIGNIN_ACCOUNT_DELAY_SECONDS` (60) after its last failure, wherever it comes
  from; the owner's own browsers, holding their device key, are not affected.
- **every username from this network** (an outlet's NAT): past `CRM_SIGNIN_ADDRESS_FAILURES` (100)
  failures, any try from it waits `CRM_SIGNIN_ADDRESS_DELAY_SECONDS` (60) after its last failure.
  Successes never count.

A throttled try is refused before the password is looked at and is not stored as an attempt: waiting
it out is the only way to another guess, and hammering cannot lengthen anyone's delay. The decision
reads only the typed username, the address and the device key, so it is the same whether the account
exists, and so is the work done for a failure (the same queries) except the owner's email.
When an account collects `CRM_SIGNIN_NOTIFY_FAILURES` (10) failures within an hour its owner (if
active) is emailed, at most once an hour. Attempts older than a day are deleted on each successful
sign-in. Failures are audited without an actor (the user tried is the object), an unknown username
only masked: people type their password there. Two tries racing in two processes can both pass the
check: the limits can be exceeded by the number of tries in flight at once, never more.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import AuditEvent, OutboxEmail, SignInAttempt, User, utcnow
from crm.services import audit, mail, sessions, users

KEEP = timedelta(days=1)
NOTIFY_WINDOW = timedelta(hours=1)
MAX_ADDRESSES_NAMED = 5  # in the owner's email

# Which count made a try wait (labels.SIGN_IN_THROTTLE_SCOPES names them for the audit trail).
PAIR, ACCOUNT, ADDRESS, DEVICE = "account_address", "account", "address", "device"
# Where the password was checked (labels.SIGN_IN_PLACES): the sign-in page, or Settings' current password.
LOGIN, SETTINGS = "login", "settings"

DEVICE_COOKIE = "crm_device"
DEVICE_DAYS = 180
DEVICE_USERNAMES = 5  # device keys one browser keeps (a phone shared at the counter)
_DEVICE_ENTRY = re.compile(r"([0-9a-f]{32})\.([0-9]{1,12})\.([0-9a-f]{32})")


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


def network(address: str | None) -> str:
    """What an address is counted under: an IPv4 address itself, an IPv6 address's /64 ("2001:db8:0:1::/64")."""
    text = (address or "").strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def masked_username(username: str | None) -> str:
    """An unknown username as the audit trail shows it: people type their password there ("no…(13)")."""
    text = (username or "").strip()
    return f"{text[:2]}…({len(text)})"


# ---------------------------------------------------------------- device keys

def _mac(key: str, nonce: str, issued: str) -> str:
    secret = current_app.secret_key
    secret = secret if isinstance(secret, bytes) else str(secret).encode()
    message = f"crm-device\n{key}\n{nonce}\n{issued}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _entries(cookie: str | None, now: datetime) -> list[tuple[str, str, str]]:
    """The well-formed, unexpired (nonce, issued, mac) entries of a device cookie, at most DEVICE_USERNAMES."""
    found = []
    oldest = now.timestamp() - DEVICE_DAYS * 86400
    for part in (cookie or "")[:1000].split("-")[:DEVICE_USERNAMES]:
        match = _DEVICE_ENTRY.fullmatch(part)
        if match and oldest < int(match.group(2)) <= now.timestamp() + 60:
            found.append(match.groups())
    return found


def device_key(cookie: str | None, username: str | None, now: datetime | None = None) -> str | None:
    """The device key (SHA-256 of its nonce) the `crm_device` cookie holds for `username`; None if none is valid."""
    key = username_key(username)
    if not key:
        return None
    for nonce, issued, mac in _entries(cookie, now or utcnow()):
        if hmac.compare_digest(mac, _mac(key, nonce, issued)):
            return hashlib.sha256(nonce.encode()).hexdigest()
    return None


def device_cookie(cookie: str | None, username: str | None, now: datetime | None = None) -> str:
    """The `crm_device` value after `username` signed in: a fresh key for it first, the other usernames' kept."""
    now = now or utcnow()
    key, nonce, issued = username_key(username), secrets.token_hex(16), str(int(now.timestamp()))
    kept = [entry for entry in _entries(cookie, now) if not hmac.compare_digest(entry[2], _mac(key, *entry[:2]))]
    entries = [(nonce, issued, _mac(key, nonce, issued)), *kept][:DEVICE_USERNAMES]
    return "-".join(".".join(entry) for entry in entries)


# ---------------------------------------------------------------- the throttle


def _failures(*conditions) -> sa.Select:
    """Count and latest time of failed attempts matching `conditions`."""
    return sa.select(sa.func.count(SignInAttempt.id), sa.func.max(SignInAttempt.at)).where(
        SignInAttempt.succeeded.is_(False), *conditions)


def _until(count: int, last: datetime | None, threshold: int, seconds: int) -> datetime | None:
    return last + timedelta(seconds=seconds) if count >= threshold and last is not None else None


def _rule(conditions: tuple, since: datetime, rules: Limits) -> datetime | None:
    """The end of the wait of a pair-like rule: failures since its last success, 30 s doubling."""
    last_success = db.session.execute(
        sa.select(sa.func.max(SignInAttempt.at)).where(*conditions, SignInAttempt.succeeded.is_(True),
                                                        SignInAttempt.at >= since)).scalar()
    count, last = db.session.execute(
        _failures(*conditions, SignInAttempt.at >= since,
                  *([SignInAttempt.at > last_success] if last_success else []))).one()
    delay = rules.pair_delay(count)
    return last + timedelta(seconds=delay) if delay else None


def wait_for(username: str | None, address: str | None, now: datetime | None = None,
             rules: Limits | None = None, device: str | None = None) -> Wait | None:
    """How long a try of `username` from `address` (with a valid `device` key, if any) must wait before its
    password may be checked; None: go ahead."""
    now = now or utcnow()
    rules = rules or limits()
    key, net = username_key(username), network(address)
    since = now - rules.window
    if device is not None:
        until = [(_rule((SignInAttempt.username_key == key, SignInAttempt.device == device), since, rules), DEVICE)]
    else:
        anonymous = SignInAttempt.device.is_(None)
        account = db.session.execute(
            _failures(SignInAttempt.username_key == key, anonymous, SignInAttempt.at >= since)).one()
        address_count = db.session.execute(
            _failures(SignInAttempt.address == net, anonymous, SignInAttempt.at >= since)).one()
        until = [(_rule((SignInAttempt.username_key == key, SignInAttempt.address == net, anonymous), since, rules),
                  PAIR),
                 (_until(*account, rules.account_failures, rules.account_delay_seconds), ACCOUNT),
                 (_until(*address_count, rules.address_failures, rules.address_delay_seconds), ADDRESS)]
    until = [item for item in until if item[0] is not None]
    if not until:
        return None
    latest, scope = max(until, key=lambda item: item[0])
    seconds = math.ceil((latest - now).total_seconds())
    return Wait(seconds, scope) if seconds > 0 else None


def record_failure(username: str | None, address: str | None, now: datetime | None = None,
                   device: str | None = None, where: str = LOGIN, session_id: int | None = None) -> Wait | None:
    """Store and audit a failed password check; audit a delay it starts and tell the owner of repeated failures.

    `where` says which form checked it (LOGIN or SETTINGS, with the session's id). Returns the wait the
    next try must make (None when it may try at once). Flushes; the caller commits.
    """
    now = now or utcnow()
    rules = limits()
    user = users.find_user(username or "")
    key = username_key(username)
    db.session.add(SignInAttempt(username_key=key, address=network(address), device=device,
                                 user_id=user.id if user else None, succeeded=False, at=now))
    db.session.flush()
    named = user.username if user else masked_username(username)
    params = {"username": named, "where": where, **({"session": session_id} if session_id else {})}
    audit.record(None, "auth.sign_in_failed", "user", user.id if user else None, remote_addr=address or "",
                 params=params).at = now
    wait = wait_for(username, address, now, rules, device)
    if wait is not None:
        audit.record(None, "auth.throttled", "user", user.id if user else None, remote_addr=address or "",
                     params={"username": named, "seconds": wait.seconds, "scope": wait.scope}).at = now
    # The same count for every username (known or not); only past the threshold does an account matter.
    recent = db.session.execute(sa.select(sa.func.count(SignInAttempt.id)).where(
        SignInAttempt.username_key == key, SignInAttempt.succeeded.is_(False),
        SignInAttempt.at >= now - NOTIFY_WINDOW)).scalar()
    if recent >= rules.notify_failures and user is not None and user.active:
        notify_owner(user, now, rules)
    return wait


def record_success(user: User, username: str | None, address: str | None, now: datetime | None = None,
                   device: str | None = None) -> None:
    """Store a successful sign-in (it clears the delays of its device key, or of its username and network)
    and purge old attempts."""
    now = now or utcnow()
    db.session.add(SignInAttempt(username_key=username_key(username), address=network(address), device=device,
                                 user_id=user.id, succeeded=True, at=now))
    purge(now)
    db.session.flush()


def failures_in_session(user: User, session_id: int, since: datetime) -> int:
    """Wrong current passwords typed on Settings during the session `session_id` (which began at `since`)."""
    found = db.session.execute(sa.select(AuditEvent.params).where(
        AuditEvent.action == "auth.sign_in_failed", AuditEvent.object_type == "user",
        AuditEvent.object_id == user.id, AuditEvent.at >= since)).scalars()
    return sum(1 for params in found
               if params and params.get("where") == SETTINGS and params.get("session") == session_id)


# Wrong current passwords in one session before Settings signs this browser out.
SETTINGS_TRIES = 5


class MustWait(RuleError):
    """Too many recent failures: the password is not looked at; `wait` says how long (the Retry-After)."""

    def __init__(self, wait: Wait, field: str):
        super().__init__("auth.too_many_attempts", field, seconds=wait.seconds)
        self.wait = wait


class SignedOutAfterTries(RuleError):
    """The session's `SETTINGS_TRIES`th wrong current password on Settings: this browser is signed out."""

    def __init__(self):
        super().__init__("auth.signed_out_after_tries", None, count=SETTINGS_TRIES)


def hold_if_throttled(username: str | None, address: str | None, device: str | None, field: str) -> None:
    """Raise MustWait (on the form's `field`) when this try must wait before its password may be checked."""
    wait = wait_for(username, address, device=device)
    if wait is not None:
        raise MustWait(wait, field)


def check_current_password(user: User, password: str, new_password: str, address: str | None,
                           device: str | None) -> None:
    """Settings' current password before a new one is set, through the throttle and audited like a sign-in.

    Refuses with MustWait (nothing looked at or stored); "auth.current_password_wrong" (the failure is
    stored and audited); SignedOutAfterTries on the session's `SETTINGS_TRIES`th wrong one (this browser
    is signed out too); "auth.same_password" when the new password is the current one (nothing stored).
    A right one is stored as a success. Flushes; the caller commits, after a refusal as well.
    """
    row = sessions.current()
    hold_if_throttled(user.username, address, device, "current_password")
    if not user.check_password(password):
        record_failure(user.username, address, device=device, where=SETTINGS, session_id=row.id if row else None)
        if row is not None and failures_in_session(user, row.id, row.created_at) >= SETTINGS_TRIES:
            sessions.sign_out()
            raise SignedOutAfterTries()
        raise RuleError("auth.current_password_wrong", "current_password")
    if new_password == password:
        # The password is not being changed, so the check counts for nothing (neither way).
        raise RuleError("auth.same_password", "new_password")
    record_success(user, user.username, address, device=device)


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
