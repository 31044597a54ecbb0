"""The client list: live search by pinyin initials and mobile digits, filters, fast pagination."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import utcnow
from tests.factories import make_client


def names_on(page: str) -> list[str]:
    return re.findall(r'<span class="card-title">([^<]+)</span>', page)


@pytest.fixture
def book(world):
    make_client(world.manager1, name="张三", mobile="13800001234", days_ago=3)
    make_client(world.manager1, name="曾国藩", mobile="13800005678", days_ago=2)
    make_client(world.manager1, name="欧阳修", mobile="13900001234", days_ago=1, outlet_id=world.outlets[2].id)
    db.session.commit()


@pytest.mark.parametrize("q, expected", [
    ("zs", ["张三"]),
    ("ZS", ["张三"]),
    ("zgf", ["曾国藩"]),           # 曾 read as a surname: zeng
    ("oy", ["欧阳修"]),
    ("zhang", ["张三"]),            # full pinyin prefix
    ("1234", ["欧阳修", "张三"]),   # last digits of the mobile, newest activity first
    ("5678", ["曾国藩"]),
    ("国藩", ["曾国藩"]),           # part of the name
    ("xyz", []),
    ("%", []),                      # LIKE wildcards are literal
])
def test_search_finds_clients_by_initials_digits_or_name(login, book, q, expected):
    page = login("manager1").get("/clients", query_string={"q": q}).get_data(as_text=True)
    assert names_on(page) == expected


def test_list_is_ordered_by_latest_activity(login, book):
    assert names_on(login("manager1").get("/clients").get_data(as_text=True)) == ["欧阳修", "曾国藩", "张三"]


def test_filters_by_stage_and_outlet(login, world, book):
    c = login("manager1")
    assert names_on(c.get("/clients", query_string={"outlet": world.outlets[2].id}).get_data(as_text=True)) == ["欧阳修"]
    assert names_on(c.get("/clients", query_string={"stage": "lost"}).get_data(as_text=True)) == []
    assert len(names_on(c.get("/clients", query_string={"stage": "bogus", "outlet": "x"}).get_data(as_text=True))) == 3


def test_htmx_search_returns_only_the_results_fragment(login, book):
    response = login("manager1").get("/clients?q=zs", headers={"HX-Request": "true", "HX-Target": "results"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'id="results"' in body and names_on(body) == ["张三"]
    assert "HX-Request" in response.headers["Vary"]


def test_boosted_navigation_gets_the_full_page(login, book):
    body = login("manager1").get("/clients", headers={"HX-Request": "true", "HX-Boosted": "true",
                                                      "HX-Target": "results"}).get_data(as_text=True)
    assert "<html" in body


def test_keyset_pages_cover_every_client_once(app, login, world):
    app.config["CRM_PAGE_SIZE"] = 7
    now = utcnow()
    for i in range(30):
        client = make_client(world.manager1, name=f"客户{i:02d}")
        client.last_activity_at = now - timedelta(hours=i % 10)  # ties on purpose
    db.session.commit()
    c = login("manager1")
    seen, url, pages = [], "/clients", 0
    while url:
        page = c.get(url).get_data(as_text=True)
        seen += names_on(page)
        more = re.search(r'<li id="more".*?href="([^"]+)"', page, re.S)
        url = more.group(1).replace("&amp;", "&") if more else None
        pages += 1
    assert sorted(seen) == sorted(f"客户{i:02d}" for i in range(30))
    assert pages == 5


def test_list_uses_a_fixed_number_of_queries_whatever_the_page_size(app, login, world):
    """No N+1: owner and outlet come with the clients, not one query per row."""
    for i in range(25):
        make_client(world.manager1, name=f"查询{i}", outlet_id=world.outlets[i % 3].id)
    db.session.commit()
    c = login("lead")
    counts = []
    for size in (5, 25):
        app.config["CRM_PAGE_SIZE"] = size
        statements: list[str] = []

        def count(conn, cursor, statement, *args, _seen=statements):
            _seen.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert c.get("/clients").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert counts[0] <= 6
