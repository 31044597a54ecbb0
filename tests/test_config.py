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


# --- One env file for every process (CRM_CONFIG_FILE), real environment variables first -------------

from crm.config import (  # noqa: E402
    VARIABLES,
    parse_env_file,
    read_settings,
    scheduler_warnings,
    startup_warnings,
)


def test_env_file_lines_comments_blank_lines_quotes_and_export_are_read():
    text = """
# Outlet CRM settings
CRM_BASE_URL=https://crm.example.com
  CRM_MAIL_FROM = "Outlet CRM <crm@bank.example>"
export CRM_SMTP_HOST=smtp.bank.example
CRM_SMTP_PASSWORD='p#ss word'
CRM_LOGIN_LIMIT_PER_ACCOUNT=5 per 5 minutes
CRM_SMTP_USER=
"""
    assert parse_env_file(text) == {
        "CRM_BASE_URL": "https://crm.example.com",
        "CRM_MAIL_FROM": "Outlet CRM <crm@bank.example>",
        "CRM_SMTP_HOST": "smtp.bank.example",
        "CRM_SMTP_PASSWORD": "p#ss word",
        "CRM_LOGIN_LIMIT_PER_ACCOUNT": "5 per 5 minutes",
        "CRM_SMTP_USER": "",
    }


def test_a_hash_inside_a_value_is_kept_because_comments_are_whole_lines():
    assert parse_env_file("CRM_SMTP_PASSWORD=abc#def\n") == {"CRM_SMTP_PASSWORD": "abc#def"}


@pytest.mark.parametrize("line", ["CRM_BASE_URL", "not a setting", "1ABC=x", "=value", "CRM BASE=x"])
def test_a_line_that_is_not_key_equals_value_stops_with_its_line_number(line):
    with pytest.raises(ConfigError, match=r"crm\.env, line 3: expected KEY=VALUE"):
        parse_env_file(f"# first\nCRM_ENV=production\n{line}\n", source="crm.env")


def test_environment_variables_override_the_file_and_empty_ones_do_not(tmp_path):
    env_file = tmp_path / "crm.env"
    env_file.write_text("CRM_BASE_URL=https://from-file.example\nCRM_SMTP_HOST=smtp.file.example\n"
                        "CRM_MAIL_FROM=file@bank.example\n")
    settings = read_settings({"CRM_CONFIG_FILE": str(env_file), "CRM_BASE_URL": "https://from-env.example",
                              "CRM_SMTP_HOST": ""})
    assert settings["CRM_BASE_URL"] == "https://from-env.example"
    assert settings["CRM_SMTP_HOST"] == "smtp.file.example"
    assert settings["CRM_MAIL_FROM"] == "file@bank.example"


def test_web_and_scheduler_built_from_one_file_agree_on_links_sender_and_smtp(tmp_path):
    env_file = tmp_path / "crm.env"
    env_file.write_text("CRM_ENV=production\nCRM_SECRET_KEY=" + "k" * 64 + "\n"
                        "CRM_BASE_URL=https://crm.bank.example/\nCRM_MAIL_FROM=crm@bank.example\n"
                        "CRM_SMTP_HOST=smtp.bank.example\nCRM_SMTP_PORT=587\nCRM_SMTP_TLS=starttls\n")
    # The scheduler's unit might add its own variables; both processes only share CRM_CONFIG_FILE.
    web = from_environment(str(tmp_path / "web"), {"CRM_CONFIG_FILE": str(env_file)})
    scheduler = from_environment(str(tmp_path / "sched"), {"CRM_CONFIG_FILE": str(env_file), "PATH": "/usr/bin"})
    keys = ["CRM_BASE_URL", "CRM_MAIL_FROM", "CRM_SMTP_HOST", "CRM_SMTP_PORT", "CRM_SMTP_TLS", "SECRET_KEY",
            "CRM_ENV"]
    assert {k: web[k] for k in keys} == {k: scheduler[k] for k in keys}
    assert web["CRM_BASE_URL"] == "https://crm.bank.example" and web["CRM_SMTP_PORT"] == 587
    assert web["CRM_CONFIG_FILE"] == str(env_file)


def test_a_missing_env_file_stops_the_start_with_its_path(tmp_path):
    with pytest.raises(ConfigError, match="nowhere.env cannot be read"):
        from_environment(str(tmp_path), {"CRM_CONFIG_FILE": str(tmp_path / "nowhere.env")})


def test_a_number_setting_that_is_not_a_number_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="CRM_SMTP_PORT must be a whole number"):
        from_environment(str(tmp_path), {"CRM_SMTP_PORT": "twenty-five"})


@pytest.mark.parametrize("name", ["CRM_SCAN_AT", "CRM_DIGEST_AT"])
@pytest.mark.parametrize("value", ["6.30", "25:00", "06:30pm", "6"])
def test_a_job_time_that_is_not_a_time_of_day_names_the_setting_and_the_format(tmp_path, name, value):
    with pytest.raises(ConfigError, match=rf"{name} must be a time of day as HH:MM or HH:MM:SS .*found '{value}'"):
        from_environment(str(tmp_path), {name: value})


def test_job_times_with_or_without_seconds_are_accepted(tmp_path):
    config = from_environment(str(tmp_path), {"CRM_SCAN_AT": "05:45", "CRM_DIGEST_AT": " 07:59:30 "})
    assert (config["CRM_SCAN_AT"], config["CRM_DIGEST_AT"]) == ("05:45", "07:59:30")


def test_production_without_a_base_url_warns_and_the_scheduler_also_warns_without_smtp(tmp_path):
    config = from_environment(str(tmp_path), {"CRM_ENV": "production", "CRM_SECRET_KEY": "x" * 40})
    every_process = startup_warnings(config)
    assert len(every_process) == 1 and every_process[0].startswith("CRM_BASE_URL is not set")
    scheduler = scheduler_warnings(config)
    assert len(scheduler) == 1 and scheduler[0].startswith("CRM_SMTP_HOST is not set")


def test_a_complete_production_configuration_gives_no_warning(tmp_path):
    config = from_environment(str(tmp_path), {"CRM_ENV": "production", "CRM_SECRET_KEY": "x" * 40,
                                              "CRM_BASE_URL": "https://crm.bank.example",
                                              "CRM_SMTP_HOST": "smtp.bank.example"})
    assert startup_warnings(config) == [] and scheduler_warnings(config) == []


def test_development_does_not_warn_about_the_base_url_or_smtp(tmp_path):
    config = from_environment(str(tmp_path), {})
    assert startup_warnings(config) == [] and scheduler_warnings(config) == []


def test_an_unknown_setting_in_the_file_is_reported_as_a_probable_typo(tmp_path):
    env_file = tmp_path / "crm.env"
    env_file.write_text("CRM_BASE_ULR=https://crm.bank.example\nOTHER_TOOL=1\n")
    config = from_environment(str(tmp_path), {"CRM_CONFIG_FILE": str(env_file)})
    assert startup_warnings(config) == [f"CRM_BASE_ULR in {env_file} is not a setting Outlet CRM knows: a typo?"]


def test_create_app_logs_the_production_warning_at_start_up(monkeypatch, tmp_path, caplog):
    env_file = tmp_path / "crm.env"
    env_file.write_text(f"CRM_ENV=production\nCRM_DATABASE_URL=sqlite:///{tmp_path}/x.sqlite3\n")
    monkeypatch.setenv("CRM_CONFIG_FILE", str(env_file))
    with caplog.at_level("WARNING", logger="crm.config"):
        create_app({"TESTING": True})
    assert any("CRM_BASE_URL is not set" in r.getMessage() for r in caplog.records)


def test_every_setting_is_documented_for_the_operator_and_in_the_example_env_file():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    operations = (root / "docs" / "operations.md").read_text(encoding="utf-8")
    example = parse_env_file((root / "deploy" / "crm.env.example").read_text(encoding="utf-8"))
    missing_docs = [name for name in VARIABLES if f"`{name}`" not in operations]
    assert missing_docs == []
    assert set(example) <= set(VARIABLES)


def test_a_redis_rate_limit_store_gets_short_timeouts_and_memory_gets_none(tmp_path):
    redis = from_environment(str(tmp_path), {"CRM_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"})
    assert redis["RATELIMIT_STORAGE_OPTIONS"] == {"socket_connect_timeout": 1, "socket_timeout": 1}
    assert from_environment(str(tmp_path), {})["RATELIMIT_STORAGE_OPTIONS"] == {}
