"""Configuration: one env file (CRM_CONFIG_FILE) read by every process, real environment variables first.

The web workers, the scheduler and every `flask` command build their settings the same way, so they
cannot disagree about the base URL, the sender address or the SMTP server (issue 10, finding 6).
"""
from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("crm.config")

CONFIG_FILE_VARIABLE = "CRM_CONFIG_FILE"

# Every setting an operator may put in the env file, and the processes that read it. Add new keys
# here: a key in the file that is not listed is reported at start-up as a probable typo.
VARIABLES: dict[str, str] = {
    "CRM_ENV": "web, scheduler",
    "CRM_SECRET_KEY": "web, scheduler",
    "CRM_DATABASE_URL": "web, scheduler",
    "CRM_SESSION_COOKIE_SECURE": "web",
    "CRM_SESSION_HOURS": "web",
    "CRM_SESSION_IDLE_MINUTES": "web",
    "CRM_REMEMBER_DAYS": "web",
    "CRM_RATELIMIT_STORAGE_URI": "web",
    "CRM_LOGIN_LIMIT_PER_ADDRESS": "web",
    "CRM_QR_LIMIT_PER_ADDRESS": "web",
    "CRM_QR_LIMIT_PER_CARD": "web",
    "CRM_SIGNIN_WINDOW_MINUTES": "web",
    "CRM_SIGNIN_FAILURES": "web",
    "CRM_SIGNIN_DELAY_SECONDS": "web",
    "CRM_SIGNIN_MAX_DELAY_SECONDS": "web",
    "CRM_SIGNIN_ACCOUNT_FAILURES": "web",
    "CRM_SIGNIN_ACCOUNT_DELAY_SECONDS": "web",
    "CRM_SIGNIN_ADDRESS_FAILURES": "web",
    "CRM_SIGNIN_ADDRESS_DELAY_SECONDS": "web",
    "CRM_SIGNIN_NOTIFY_FAILURES": "web",
    "CRM_TRUSTED_PROXIES": "web",
    "CRM_HSTS_SECONDS": "web",
    "CRM_BASE_URL": "web, scheduler",
    "CRM_MAIL_FROM": "web, scheduler",
    "CRM_SMTP_HOST": "web, scheduler",
    "CRM_SMTP_PORT": "web, scheduler",
    "CRM_SMTP_USER": "web, scheduler",
    "CRM_SMTP_PASSWORD": "web, scheduler",
    "CRM_SMTP_TLS": "web, scheduler",
    "CRM_SMTP_CA_FILE": "web, scheduler",
    "CRM_SCAN_AT": "scheduler",
    "CRM_DIGEST_AT": "scheduler",
    "CRM_REMINDER_EVERY_MINUTES": "scheduler",
    "CRM_REMINDER_EVERY_SECONDS": "scheduler",
    "CRM_BACKUP_KEEP_DAYS": "deploy/backup.sh",
}

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(RuntimeError):
    """The app refuses to start because its configuration is unsafe or incomplete."""


def parse_env_file(text: str, source: str = "env file") -> dict[str, str]:
    """Read `KEY=VALUE` lines; blank lines and lines starting with `#` are skipped.

    A value may be wrapped in single or double quotes (taken literally, no escapes or `$` expansion);
    `export KEY=VALUE` is accepted so that the file can also be sourced by a shell. A `#` inside a
    value is part of the value: comments are whole lines only.
    """
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _KEY.match(key):
            raise ConfigError(f"{source}, line {number}: expected KEY=VALUE, found {raw.strip()!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def _file_values(environ: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The CRM_CONFIG_FILE's path and values (empty when the variable is not set)."""
    path = (environ.get(CONFIG_FILE_VARIABLE) or "").strip()
    if not path:
        return "", {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{CONFIG_FILE_VARIABLE}={path} cannot be read: {exc.strerror}") from None
    return path, parse_env_file(text, source=path)


def read_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings of this process: the CRM_CONFIG_FILE's values, overridden by real environment variables.

    An environment variable overrides the file only when it is set to something (an empty one is
    ignored), so a stray empty `CRM_SMTP_HOST=` in a shell does not silently switch email off.
    """
    environ = os.environ if environ is None else environ
    return _merge(_file_values(environ)[1], environ)


def _merge(in_file: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The file's values with the environment's non-empty ones on top."""
    return {**in_file, **{key: value for key, value in environ.items() if value != ""}}


def _flag(settings: Mapping[str, str], name: str, default: bool) -> bool:
    """Read a yes/no setting."""
    value = settings.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(settings: Mapping[str, str], name: str, default: int) -> int:
    """Read a whole-number setting; a wrong value stops the start with the setting's name."""
    value = (settings.get(name) or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, found {value!r}") from None


def _at_least_one(settings: Mapping[str, str], name: str, default: int) -> int:
    """Read a whole-number setting that must be 1 or more (a duration)."""
    value = _int(settings, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be 1 or more, found {value}")
    return value


def _time_of_day(settings: Mapping[str, str], name: str, default: str) -> str:
    """Read a local time setting (HH:MM or HH:MM:SS); a wrong value stops the start with the setting's name.

    Checked here, not first when a job is scheduled: every `flask` command describes the jobs'
    times, so a bad value would otherwise fail each of them with a traceback.
    """
    from crm.services.job_runs import parse_local_time

    value = (settings.get(name) or "").strip() or default
    try:
        parse_local_time(value)
    except ValueError:
        raise ConfigError(f"{name} must be a time of day as HH:MM or HH:MM:SS (e.g. 06:30), found {value!r}") from None
    return value


def load_secret_key(instance_path: str, production: bool, settings: Mapping[str, str] | None = None) -> str:
    """Return CRM_SECRET_KEY, or in development a key generated once and kept in the instance folder."""
    settings = read_settings() if settings is None else settings
    key = (settings.get("CRM_SECRET_KEY") or "").strip()
    if key:
        return key
    if production:
        raise ConfigError(
            "CRM_SECRET_KEY is not set. In production the app refuses to start without one: write one "
            "once into the env file (see docs/operations.md, \"Configure\")."
        )
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Written with owner-only permissions: anyone holding it can forge sessions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _storage_options(uri: str) -> dict:
    """Short timeouts for a Redis rate-limit store, so a dead Redis costs a second, not a hung sign-in."""
    if uri.split("://", 1)[0] in {"redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster"}:
        return {"socket_connect_timeout": 1, "socket_timeout": 1}
    return {}


# Sign-in throttle (crm.services.signin): failures counted over the window, per username from one
# address (growing delays from DELAY up to MAX_DELAY), per username from all addresses, per address.
SIGNIN_DEFAULTS = {
    "CRM_SIGNIN_WINDOW_MINUTES": 15,
    "CRM_SIGNIN_FAILURES": 5,
    "CRM_SIGNIN_DELAY_SECONDS": 30,
    "CRM_SIGNIN_MAX_DELAY_SECONDS": 300,
    "CRM_SIGNIN_ACCOUNT_FAILURES": 20,
    "CRM_SIGNIN_ACCOUNT_DELAY_SECONDS": 60,
    "CRM_SIGNIN_ADDRESS_FAILURES": 100,
    "CRM_SIGNIN_ADDRESS_DELAY_SECONDS": 60,
    "CRM_SIGNIN_NOTIFY_FAILURES": 10,  # failures in an hour before the account's owner is emailed
}


def _signin_limits(env: Mapping[str, str]) -> dict[str, int]:
    """The CRM_SIGNIN_* settings as numbers; each must be a whole number of at least 1."""
    values = {name: _int(env, name, default) for name, default in SIGNIN_DEFAULTS.items()}
    for name, value in values.items():
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, found {value}")
    return values


def _hsts_seconds(settings: Mapping[str, str], production: bool) -> int:
    """CRM_HSTS_SECONDS in production (default one year, 0 = off); never in development, where http:// must work."""
    if not production:
        return 0
    value = _int(settings, "CRM_HSTS_SECONDS", 31_536_000)
    if value < 0:
        raise ConfigError(f"CRM_HSTS_SECONDS must be 0 (off) or more, found {value}")
    return value


def from_environment(instance_path: str, environ: Mapping[str, str] | None = None) -> dict:
    """Build the Flask config mapping from the CRM_* settings (env file, then environment variables)."""
    environ = os.environ if environ is None else environ
    config_file, in_file = _file_values(environ)
    env = _merge(in_file, environ)
    production = env.get("CRM_ENV", "development").strip().lower() == "production"
    default_db = "sqlite:///" + str(Path(instance_path) / "crm.sqlite3")
    ratelimit_uri = env.get("CRM_RATELIMIT_STORAGE_URI", "memory://")
    return {
        "CRM_ENV": "production" if production else "development",
        "CRM_CONFIG_FILE": config_file,
        # Which CRM_* names were given (file or environment), and the file's names we do not know.
        "CRM_GIVEN_SETTINGS": tuple(sorted(name for name in env if name.startswith("CRM_"))),
        "CRM_UNKNOWN_SETTINGS": tuple(sorted(name for name in in_file
                                             if name.startswith("CRM_") and name not in VARIABLES
                                             and name != CONFIG_FILE_VARIABLE)),
        "SECRET_KEY": load_secret_key(instance_path, production, env),
        "SQLALCHEMY_DATABASE_URI": env.get("CRM_DATABASE_URL", default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_SECURE": _flag(env, "CRM_SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag(env, "CRM_SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": _int(env, "CRM_SESSION_HOURS", 12) * 3600,
        # Server-side sessions (crm.services.sessions): absolute lifetime, idle timeout, "keep me signed in".
        "CRM_SESSION_HOURS": _at_least_one(env, "CRM_SESSION_HOURS", 12),
        "CRM_SESSION_IDLE_SECONDS": _at_least_one(env, "CRM_SESSION_IDLE_MINUTES", 30) * 60,
        "CRM_REMEMBER_DAYS": _at_least_one(env, "CRM_REMEMBER_DAYS", 30),
        "CRM_SESSION_WARN_SECONDS": 120,  # the page warns this long before an idle session ends
        # Tokens live as long as the session: a form left open at the counter for an hour
        # must still submit instead of losing what was typed.
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": ratelimit_uri,
        "RATELIMIT_STORAGE_OPTIONS": _storage_options(ratelimit_uri),
        # Off: Flask-Limiter would overwrite the sign-in throttle's Retry-After with its own window.
        "RATELIMIT_HEADERS_ENABLED": False,
        # A coarse flood guard per address (Flask-Limiter, failed tries only); the real throttle is
        # crm.services.signin, counted in the database that every worker shares.
        "CRM_LOGIN_LIMIT_PER_ADDRESS": env.get("CRM_LOGIN_LIMIT_PER_ADDRESS", "300 per 5 minutes"),
        # The public QR registration form (crm/routes/register.py): POSTs per visitor address and per card.
        "CRM_QR_LIMIT_PER_ADDRESS": env.get("CRM_QR_LIMIT_PER_ADDRESS", "10 per hour"),
        "CRM_QR_LIMIT_PER_CARD": env.get("CRM_QR_LIMIT_PER_CARD", "60 per hour"),
        **_signin_limits(env),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "CRM_TRUSTED_PROXIES": _int(env, "CRM_TRUSTED_PROXIES", 0),
        # Strict-Transport-Security on https responses in production (crm/__init__.py sends it, not nginx).
        "CRM_HSTS_SECONDS": _hsts_seconds(env, production),
        # Request bodies: 1 MiB for every request (forms are a few KB); the asset import page alone
        # allows its file (crm/routes/assets.py). Larger bodies answer 413 without being read in full.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 64 * 1024,  # one non-file field of a multipart form
        "MAX_FORM_PARTS": 100,
        "CRM_BASE_URL": env.get("CRM_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "CRM_MAIL_FROM": env.get("CRM_MAIL_FROM", "outlet-crm@localhost"),
        "CRM_SMTP_HOST": env.get("CRM_SMTP_HOST", ""),
        "CRM_SMTP_PORT": _int(env, "CRM_SMTP_PORT", 25),
        "CRM_SMTP_USER": env.get("CRM_SMTP_USER", ""),
        "CRM_SMTP_PASSWORD": env.get("CRM_SMTP_PASSWORD", ""),
        "CRM_SMTP_TLS": env.get("CRM_SMTP_TLS", "none").strip().lower(),  # none / starttls / ssl
        "CRM_SMTP_CA_FILE": env.get("CRM_SMTP_CA_FILE", ""),  # PEM CAs to trust besides the system's
        # Scheduler (local Asia/Shanghai times): daily scan, morning digests, reminder cadence.
        "CRM_SCAN_AT": _time_of_day(env, "CRM_SCAN_AT", "06:30"),
        "CRM_DIGEST_AT": _time_of_day(env, "CRM_DIGEST_AT", "08:00"),
        "CRM_REMINDER_EVERY_MINUTES": _int(env, "CRM_REMINDER_EVERY_MINUTES", 5),
        # Seconds override minutes; used by the exactly-once test to fire several slots quickly.
        "CRM_REMINDER_EVERY_SECONDS": _int(env, "CRM_REMINDER_EVERY_SECONDS", 0),
        "CRM_PAGE_SIZE": 20,
        "CRM_PASSWORD_HASH_METHOD": "scrypt",
    }


def startup_warnings(config: Mapping) -> list[str]:
    """What an operator should fix, read from a built config: logged by every process at start-up."""
    warnings: list[str] = []
    source = config.get("CRM_CONFIG_FILE") or "the environment (no CRM_CONFIG_FILE)"
    for name in config.get("CRM_UNKNOWN_SETTINGS", ()):
        warnings.append(f"{name} in {source} is not a setting Outlet CRM knows: a typo?")
    if config.get("CRM_ENV") == "production" and "CRM_BASE_URL" not in config.get("CRM_GIVEN_SETTINGS", ()):
        warnings.append(
            f"CRM_BASE_URL is not set in {source}: links in emails will point at "
            f"{config.get('CRM_BASE_URL')}. Set it to the address users open, e.g. https://crm.example.com, "
            "in the env file that the web and the scheduler both read.")
    return warnings


def scheduler_warnings(config: Mapping) -> list[str]:
    """The scheduler's own start-up warnings: it is the process that delivers email."""
    if config.get("CRM_ENV") == "production" and not config.get("CRM_SMTP_HOST"):
        source = config.get("CRM_CONFIG_FILE") or "the environment (no CRM_CONFIG_FILE)"
        return [f"CRM_SMTP_HOST is not set in {source}: no email will be sent; emails wait in the outbox "
                "(Admin → Outbox) until it is set and the scheduler restarted."]
    return []


def log_warnings(messages: list[str]) -> None:
    """Log each start-up warning at WARNING level, for the journal."""
    for message in messages:
        log.warning("%s", message)
