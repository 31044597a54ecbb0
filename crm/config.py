"""Configuration read from the environment, with safe defaults for the embedded mode."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _flag(name: str, default: bool) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """The app refuses to start because its configuration is unsafe or incomplete."""


def load_secret_key(instance_path: str, production: bool) -> str:
    """Return CRM_SECRET_KEY, or in development a key generated once and kept in the instance folder."""
    key = os.environ.get("CRM_SECRET_KEY", "").strip()
    if key:
        return key
    if production:
        raise ConfigError(
            "CRM_SECRET_KEY is not set. In production the app refuses to start without one: "
            "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`."
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


def from_environment(instance_path: str) -> dict:
    """Build the Flask config mapping from CRM_* environment variables."""
    production = os.environ.get("CRM_ENV", "development").strip().lower() == "production"
    default_db = "sqlite:///" + str(Path(instance_path) / "crm.sqlite3")
    return {
        "CRM_ENV": "production" if production else "development",
        "SECRET_KEY": load_secret_key(instance_path, production),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("CRM_DATABASE_URL", default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_SECURE": _flag("CRM_SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag("CRM_SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("CRM_SESSION_HOURS", "12")) * 3600,
        # Tokens live as long as the session: a form left open at the counter for an hour
        # must still submit instead of losing what was typed.
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": os.environ.get("CRM_RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "CRM_LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("CRM_LOGIN_LIMIT_PER_ACCOUNT", "5 per 5 minutes"),
        "CRM_LOGIN_LIMIT_PER_ADDRESS": os.environ.get("CRM_LOGIN_LIMIT_PER_ADDRESS", "20 per 5 minutes"),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "CRM_TRUSTED_PROXIES": int(os.environ.get("CRM_TRUSTED_PROXIES", "0")),
        "CRM_BASE_URL": os.environ.get("CRM_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "CRM_MAIL_FROM": os.environ.get("CRM_MAIL_FROM", "outlet-crm@localhost"),
        "CRM_SMTP_HOST": os.environ.get("CRM_SMTP_HOST", ""),
        "CRM_SMTP_PORT": int(os.environ.get("CRM_SMTP_PORT", "25")),
        "CRM_SMTP_USER": os.environ.get("CRM_SMTP_USER", ""),
        "CRM_SMTP_PASSWORD": os.environ.get("CRM_SMTP_PASSWORD", ""),
        "CRM_SMTP_TLS": os.environ.get("CRM_SMTP_TLS", "none").strip().lower(),  # none / starttls / ssl
        "CRM_SMTP_CA_FILE": os.environ.get("CRM_SMTP_CA_FILE", ""),  # PEM CAs to trust besides the system's
        # Scheduler (local Asia/Shanghai times): daily scan, morning digests, reminder cadence.
        "CRM_SCAN_AT": os.environ.get("CRM_SCAN_AT", "06:30"),
        "CRM_DIGEST_AT": os.environ.get("CRM_DIGEST_AT", "08:00"),
        "CRM_REMINDER_EVERY_MINUTES": int(os.environ.get("CRM_REMINDER_EVERY_MINUTES", "5")),
        # Seconds override minutes; used by the exactly-once test to fire several slots quickly.
        "CRM_REMINDER_EVERY_SECONDS": int(os.environ.get("CRM_REMINDER_EVERY_SECONDS", "0")),
        "CRM_PAGE_SIZE": 20,
        "CRM_PASSWORD_HASH_METHOD": "scrypt",
    }
