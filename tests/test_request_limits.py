"""Request size limits (413 in the user's language, never 500), the CSP and HSTS headers."""
from __future__ import annotations

import io
import re

import pytest

from crm import create_app
from crm.config import VARIABLES, ConfigError, from_environment
from crm.extensions import db
from crm.routes.assets import MAX_UPLOAD_BYTES
from tests.factories import PASSWORD

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

MIB = 1024 * 1024
TOO_LARGE_ZH = "提交的内容过大。"
TOO_LARGE_EN = "What you sent is too large."


def big_prospect(size: int) -> dict:
    return {"name": "张三", "mobile": "13900000001", "source_channel": "walk_in", "interests": "x" * size}


# ------------------------------------------------------------------ general limit


def test_a_20_mb_form_field_answers_413_in_chinese_before_sign_in(client, world):
    response = client.post("/login", data={"username": "manager1", "password": "x" * (20 * MIB)})
    assert response.status_code == 413
    assert TOO_LARGE_ZH in response.get_data(as_text=True)


def test_a_signed_in_form_over_1_mib_answers_413_and_saves_nothing(login, world):
    from crm.models import Client

    response = login("manager1").post("/clients/new", data=big_prospect(MIB + 1))
    assert response.status_code == 413
    assert TOO_LARGE_ZH in response.get_data(as_text=True)
    assert db.session.query(Client).count() == 0


def test_the_message_follows_the_users_language(login, world):
    world.manager1.locale = "en"
    db.session.commit()
    response = login("manager1").post("/clients/new", data=big_prospect(2 * MIB))
    assert response.status_code == 413 and TOO_LARGE_EN in response.get_data(as_text=True)


def test_an_htmx_request_gets_413_which_the_page_alert_explains(login, world):
    c = login("manager1")
    page = c.get("/clients").get_data(as_text=True)
    assert f'data-msg-413="{TOO_LARGE_ZH}"' in page  # request-errors.js shows this text on a 413
    response = c.post("/clients/new", data=big_prospect(2 * MIB), headers={"HX-Request": "true"})
    assert response.status_code == 413


def test_an_ordinary_form_below_the_limit_still_works(login, world):
    response = login("manager1").post("/clients/new", data={**big_prospect(10), "token": "t"})
    assert response.status_code == 303


def test_a_large_multipart_text_field_and_too_many_parts_answer_413(login, world):
    c = login("manager1")
    field = c.post("/clients/new", data={"name": "x" * (100 * 1024)}, content_type="multipart/form-data")
    assert field.status_code == 413
    parts = c.post("/clients/new", data={f"f{i}": "1" for i in range(150)}, content_type="multipart/form-data")
    assert parts.status_code == 413


# ------------------------------------------------------------------ the asset upload's own limit


def upload(c, size: int):
    data = b"mobile,date,assets\r\n" + b"#" * size
    return c.post("/admin/assets", data={"file": (io.BytesIO(data), "assets.csv")},
                  content_type="multipart/form-data")


def test_the_admin_may_upload_a_file_larger_than_the_general_limit(login, world):
    response = upload(login("admin"), 3 * MIB)
    assert response.status_code == 422  # read and checked: the rows are junk, not too large
    assert "<h1>413</h1>" not in response.get_data(as_text=True)


def test_a_file_over_the_upload_limit_answers_413_with_the_import_page(login, world):
    response = upload(login("admin"), MAX_UPLOAD_BYTES + 1)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "50" in page and 'enctype="multipart/form-data"' in page


class TestWithCsrf:
    """As in production: the CSRF check reads the body before any view, so the limit applies there."""

    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WTF_CSRF_ENABLED": True}

    @pytest.mark.parametrize("username", ["manager1", "lead", None])
    def test_only_an_admin_gets_the_larger_limit(self, app, world, username):
        c = app.test_client()
        if username:
            token = CSRF.search(c.get("/login").get_data(as_text=True)).group(1)
            assert c.post("/login", data={"username": username, "password": PASSWORD,
                                          "csrf_token": token}).status_code == 303
        assert upload(c, 2 * MIB).status_code == 413


# ------------------------------------------------------------------ headers


def test_the_csp_forbids_plugins_and_base_changes(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp and "default-src 'self'" in csp


@pytest.fixture
def production_app(database_url):
    def build(**config):
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                          "RATELIMIT_STORAGE_URI": "memory://", "CRM_ENV": "production",
                          "CRM_HSTS_SECONDS": 31_536_000, **config})
        return app.test_client()

    return build


def test_production_sends_hsts_over_https(production_app):
    response = production_app().get("/login", base_url="https://crm.example.com")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_production_sends_hsts_behind_the_trusted_proxy(production_app):
    c = production_app(CRM_TRUSTED_PROXIES=1)
    behind = c.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.7"})
    assert behind.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in c.get("/login").headers  # plain http: browsers ignore it anyway


def test_no_hsts_over_plain_http_when_switched_off_or_in_development(production_app, client):
    assert "Strict-Transport-Security" not in production_app().get("/login").headers
    off = production_app(CRM_HSTS_SECONDS=0).get("/login", base_url="https://crm.example.com")
    assert "Strict-Transport-Security" not in off.headers
    development = client.get("/login", base_url="https://localhost")
    assert "Strict-Transport-Security" not in development.headers


def test_the_hsts_setting_defaults_to_a_year_in_production_and_off_in_development(tmp_path):
    production = {"CRM_ENV": "production", "CRM_SECRET_KEY": "k" * 32}
    assert from_environment(str(tmp_path), production)["CRM_HSTS_SECONDS"] == 31_536_000
    assert from_environment(str(tmp_path), {**production, "CRM_HSTS_SECONDS": "600"})["CRM_HSTS_SECONDS"] == 600
    assert from_environment(str(tmp_path), {"CRM_HSTS_SECONDS": "600"})["CRM_HSTS_SECONDS"] == 0
    with pytest.raises(ConfigError, match="CRM_HSTS_SECONDS"):
        from_environment(str(tmp_path), {**production, "CRM_HSTS_SECONDS": "-1"})
    assert "CRM_HSTS_SECONDS" in VARIABLES
    assert from_environment(str(tmp_path), {})["MAX_CONTENT_LENGTH"] == MIB
