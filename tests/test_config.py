"""Configuration from the environment: safe defaults, refusal to run production without a secret."""
from __future__ import annotations

import os

import pytest

from crm import create_app
from crm.config import ConfigError, from_environment, load_secret_key


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    monkeypatch.setenv("CRM_ENV", "production")
    with pytest.raises(ConfigError):
        from_environment(str(tmp_path))


def test_development_generates_a_secret_key_once_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    first = load_secret_key(str(tmp_path), production=False)
    second = load_secret_key(str(tmp_path), production=False)
    assert first == second and len(first) >= 32
    assert oct(os.stat(tmp_path / "secret_key").st_mode)[-3:] == "600"


def test_environment_variables_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("CRM_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("CRM_SESSION_COOKIE_SECURE", "true")
    config = from_environment(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["SESSION_COOKIE_SECURE"] is True


def test_embedded_default_is_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    assert from_environment(str(tmp_path))["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/crm.sqlite3"


def test_production_cookies_are_secure_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.setenv("CRM_SECRET_KEY", "x" * 40)
    monkeypatch.delenv("CRM_SESSION_COOKIE_SECURE", raising=False)
    config = from_environment(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is True and config["REMEMBER_COOKIE_SECURE"] is True


def test_healthz_checks_the_database(client, world):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing-dir/none/x.sqlite3"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


def test_behind_a_trusted_proxy_the_forwarded_address_is_used(app_config, world):
    from flask import request

    app = create_app({**app_config, "CRM_TRUSTED_PROXIES": 1})
    seen = {}

    @app.get("/_addr")
    def addr():
        seen["addr"] = request.remote_addr
        return "ok"

    app.test_client().get("/_addr", headers={"X-Forwarded-For": "203.0.113.7"},
                          environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert seen["addr"] == "203.0.113.7"
