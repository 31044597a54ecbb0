"""Fixtures: a migrated real database per test (SQLite file, or PostgreSQL when configured)."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

os.environ.setdefault("CRM_SECRET_KEY", "test-secret-key-not-for-production")

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402
from tests import factories  # noqa: E402

PG_URL = os.environ.get("CRM_TEST_DATABASE_URL", "").strip()
PASSWORD = factories.PASSWORD


def _upgrade(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


# Rows the migrations themselves insert (default tiers...): restored after each PostgreSQL truncate.
_REFERENCE_ROWS: dict[str, list[dict]] = {}


def _read_reference_rows(url: str) -> dict[str, list[dict]]:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    rows = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name != "alembic_version":
                found = [dict(r._mapping) for r in conn.execute(sa.select(table))]
                if found:
                    rows[table.name] = found
    engine.dispose()
    return rows


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> str:
    """Migrate once per session: a template SQLite file, or the PostgreSQL test database."""
    if PG_URL:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        _upgrade(PG_URL)
        _REFERENCE_ROWS.update(_read_reference_rows(PG_URL))
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(database_template, tmp_path) -> str:
    """A fresh, migrated, empty database for one test."""
    if PG_URL:
        yield PG_URL
        empty_postgres(PG_URL)
        return
    target = tmp_path / "crm.sqlite3"
    shutil.copyfile(database_template, target)
    yield f"sqlite:///{target}"


def empty_postgres(url: str) -> None:
    """Truncate every table of the PostgreSQL test database, then restore the migrations' reference rows."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
        )).scalars().all()
        if tables:
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                 + " RESTART IDENTITY CASCADE"))
        metadata = sa.MetaData()
        metadata.reflect(conn, only=list(_REFERENCE_ROWS))
        for name, rows in _REFERENCE_ROWS.items():
            conn.execute(sa.insert(metadata.tables[name]), rows)
            if "id" in metadata.tables[name].c:
                conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM \"{name}\"))"))
    engine.dispose()


@pytest.fixture
def app_config(database_url) -> dict:
    """Config of the app under test; tests may tweak it before `app` is built."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Hashing cost is not under test here; the default (scrypt) is used in production.
        "CRM_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


class RequestIsolatingClient(FlaskClient):
    """Runs each request in its own app context, as in production, even while a test holds one.

    Without this, requests reuse the test's app context: `g` (and the signed-in user cached
    there) and the database session would leak from one request into the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(app_config):
    """The application bound to a fresh database."""
    app = create_app(app_config)
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client without a signed-in user."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app's commands."""
    return app.test_cli_runner()


@dataclass
class World:
    """The people and places most tests need."""

    team: object
    other_team: object
    outlets: list
    admin: object
    lead: object
    manager1: object
    manager2: object
    other_lead: object
    other_manager: object


@pytest.fixture
def world(app) -> World:
    """Two teams: lead with manager1 and manager2; other_lead with other_manager; one admin."""
    w = factories.make_world()
    db.session.commit()
    return w


@pytest.fixture
def login(app):
    """Return a function that signs a username in on a fresh test client and returns the client."""

    def sign_in(username: str):
        c = app.test_client()
        response = c.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)
        return c

    return sign_in
