"""Outlet CRM: a phone-first CRM for securities client managers stationed at bank outlets."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from crm.config import from_environment, log_warnings, startup_warnings
from crm.extensions import babel, csrf, db, limiter, login_manager, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")
SUPPORTED_LOCALES = ("zh_CN", "en")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error pages, commands."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(from_environment(app.instance_path))
    if config:
        app.config.update(config)
    if app.config["CRM_TRUSTED_PROXIES"]:
        # Behind nginx, the client's address (for rate limits and the audit trail) is in X-Forwarded-For.
        hops = app.config["CRM_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    register_response_headers(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
    log_warnings(startup_warnings(app.config))
    return app


def select_locale() -> str:
    """The signed-in user's language, else the one chosen on the sign-in page, else zh_CN.

    The public QR registration pages (blueprint "register") follow the visitor's browser instead.
    """
    if request.blueprint == "register":
        best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
        return "en" if best == "en" else "zh_CN"
    code = session.get("locale")
    if current_user and current_user.is_authenticated:
        code = current_user.locale
    if code not in SUPPORTED_LOCALES:
        code = "zh_CN"
    # Babel reads zh_CN as zh_Hans_CN: that is why the catalog folder is named zh_Hans_CN.
    return code


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: enforce foreign keys, let readers and one writer work together, wait when busy."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def register_extensions(app: Flask) -> None:
    """Bind the extensions to this app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    limiter.init_app(app)

    # Who is signed in comes only from a live server-side session row (crm.services.sessions).
    from crm.routes import sessions as session_routes

    session_routes.register(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature."""
    from crm.routes.helpers import IdConverter

    app.url_map.converters["int"] = IdConverter
    from crm.routes import (
        admin,
        assets,
        auth,
        clients,
        complaints,
        coverage,
        followups,
        main,
        outbox,
        partners,
        plans,
        pool,
        profiles,
        qr_cards,
        referrals,
        register,
        sessions,
        suitability,
        visits,
    )

    for module in (main, auth, clients, visits, followups, profiles, suitability, admin, assets, outbox,
                   complaints, plans, sessions, partners, referrals, coverage, pool, qr_cards, register):
        app.register_blueprint(module.bp)


def register_errorhandlers(app: Flask) -> None:
    """Error pages in the user's language."""
    from crm.routes.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    """Filters and globals the templates use."""
    from crm.routes.helpers import register

    register(app)


def register_commands(app: Flask) -> None:
    """Operator commands: create-user, seed-demo."""
    from crm.cli import register

    register(app)


def register_response_headers(app: Flask) -> None:
    """Security headers, and Vary for responses that differ for htmx requests."""
    hsts_seconds = app.config.get("CRM_HSTS_SECONDS", 0) if app.config["CRM_ENV"] == "production" else 0

    @app.after_request
    def add_headers(response):
        response.headers.add("Vary", "HX-Request")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            # form-action also governs where a form's redirect may go: Call posts, then goes to tel:.
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' tel:",
        )
        if hsts_seconds and request.is_secure:
            # request.is_secure is true over https, directly or from nginx's X-Forwarded-Proto
            # (CRM_TRUSTED_PROXIES). The app is the one place that sends it: nginx.conf does not.
            response.headers.setdefault("Strict-Transport-Security",
                                        f"max-age={hsts_seconds}; includeSubDomains")
        if request.endpoint and request.endpoint != "static":
            # Client data must not linger in shared caches or the back-forward cache of a lent phone.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
