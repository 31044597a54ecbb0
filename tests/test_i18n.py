"""Chinese is the default language and complete; English is a user setting."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from crm.extensions import db

ROOT = Path(__file__).resolve().parent.parent
ZH = ROOT / "crm/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _extract(tmp_path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        ids = {m.id for m in read_po(handle) if m.id}
    assert len(ids) > 150, "extraction found too few strings: is babel.cfg right?"
    return ids


def _zh_catalog():
    with ZH.open("rb") as handle:
        return read_po(handle)


def test_every_string_in_the_code_has_a_chinese_translation(tmp_path):
    catalog = _zh_catalog()
    missing = sorted(mid for mid in _extract(tmp_path)
                     if not (catalog.get(mid) and catalog.get(mid).string)
                     or catalog.get(mid).fuzzy)
    assert missing == []


def test_translations_keep_their_placeholders():
    for message in _zh_catalog():
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), message.id


def test_pages_are_in_chinese_by_default(client, world):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录" in page


def test_a_user_who_chose_english_gets_english(login, world):
    c = login("manager1")
    c.post("/settings", data={"locale": "en"})
    page = c.get("/clients").get_data(as_text=True)
    assert '<html lang="en">' in page and "New prospect" in page
    db.session.expire_all()
    assert world.manager1.locale == "en"


def test_language_can_be_chosen_before_signing_in(client, world):
    client.post("/language/en", data={"next": "/login"})
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_error_pages_are_in_the_users_language(login, world):
    c = login("manager1")
    assert "不存在" in c.get("/clients/999999").get_data(as_text=True)
    c.post("/settings", data={"locale": "en"})
    assert "does not exist" in c.get("/clients/999999").get_data(as_text=True)


def test_times_are_shown_in_shanghai(login, world):
    from datetime import datetime, timezone

    from tests.factories import make_client, make_visit

    client = make_client(world.manager1, name="时区")
    make_visit(client, world.manager1, occurred_at=datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc))
    db.session.commit()
    page = login("manager1").get(f"/clients/{client.id}").get_data(as_text=True)
    assert "00:30" in page  # 16:30 UTC is 00:30 the next day in Asia/Shanghai
