"""Real journeys of a client manager on a 390 px phone, through chromium, against the live app.

Selectors rely on names, ids and URLs rather than on visible words: the interface is Chinese by
default and its catalog is being translated, so button texts may change under the tests.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Client, FormSubmission, VisitLog
from tests import factories
from tests.browser.conftest import HAVE_PLAYWRIGHT

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import Page, expect

    from tests.browser.helpers import sign_in as shared_sign_in


CLIENT_FILE_URL = re.compile(r"/clients/(\d+)$")
CLIENT_LIST_URL = re.compile(r"/clients(\?.*)?$")


# ---- helpers ---------------------------------------------------------------------------------

def sign_in(page: Page, username: str) -> None:
    """Sign in on /login (a manager starts on Today), then open the client list from the top bar."""
    shared_sign_in(page, username)
    expect(page).to_have_url(re.compile(r"/(today|team|clients)$"))
    page.locator("header nav a[href='/clients']").click()
    expect(page).to_have_url(CLIENT_LIST_URL)


def capture_prospect(page: Page, name: str, mobile: str) -> int:
    """Capture a prospect through the "New prospect" action; returns the new client's id."""
    page.locator(".actionbar a[href='/clients/new']").click()
    expect(page).to_have_url(re.compile(r"/clients/new$"))
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=mobile]").fill(mobile)
    page.locator("form[action='/clients/new'] button[type=submit]").click()
    expect(page).to_have_url(CLIENT_FILE_URL)
    expect(page.locator("h1")).to_contain_text(name)
    return int(CLIENT_FILE_URL.search(page.url).group(1))


def count(app, model, *where) -> int:
    """Rows in the database, read in a fresh app context (its own session, so no stale snapshot)."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def seed_clients(owner, *names: str) -> None:
    """Clients of `owner` written straight to the database, so lists have something to filter."""
    for name in names:
        factories.make_client(owner, name=name)
    db.session.commit()


LAYOUT_PROBE = """() => {
  const small = [];
  for (const el of document.querySelectorAll('button, input, select')) {
    if (el.type === 'hidden') continue;
    // A radio or checkbox is tapped through its label: the label is the target that counts.
    const target = (el.type === 'radio' || el.type === 'checkbox') && el.closest('label') || el;
    const box = target.getBoundingClientRect();
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    if (box.width === 0 || box.height === 0) continue;
    if (box.height < 40) {
      small.push(`${el.outerHTML.slice(0, 120)} is ${box.height}px high`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, small};
}"""


def assert_fits_phone(page: Page) -> None:
    """No horizontal scroll at 390 px, and every visible control is a comfortable tap target."""
    probe = page.evaluate(LAYOUT_PROBE)
    width = probe["scrollWidth"]
    assert width <= 390, f"{page.url} scrolls sideways: {width}px wide"
    assert not probe["small"], f"{page.url} has controls under 40px: {probe['small']}"


# ---- journeys --------------------------------------------------------------------------------

def test_capture_search_and_log_a_visit(app, world, page, artifacts, live_server):
    """Sign in, capture 张三丰, find him by typing "zsf" (live, no reload), log a visit."""
    seed_clients(world.manager1, "李四光")
    sign_in(page, "manager1")

    client_id = capture_prospect(page, "张三丰", "139 1234 5678")
    expect(page.locator("#revealed_mobile .masked")).to_have_text("139****5678")
    expect(page.locator("main")).not_to_contain_text("13912345678")

    page.locator("header nav a[href='/clients']").click()
    expect(page).to_have_url(CLIENT_LIST_URL)
    cards = page.locator("#results .card")
    expect(cards).to_have_count(2)

    # A full page load would wipe this marker; htmx's live search keeps the same document.
    page.evaluate("() => { window.__sameDocument = true; }")
    page.locator("#q").press_sequentially("zsf", delay=60)
    expect(page).to_have_url(re.compile(r"/clients\?(.*&)?q=zsf(&|$)"))
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("张三丰")
    expect(cards.first).to_contain_text("139****5678")
    assert page.evaluate("() => window.__sameDocument === true"), "the search reloaded the page"
    expect(page.locator("#q")).to_have_value("zsf")

    # Put the keyboard away before tapping the result: the search box losing focus re-runs the
    # search, which would race the tap (see test_tapping_a_result_while_typing_opens_its_address).
    page.locator("#q").blur()
    live_server.wait_idle()
    cards.first.locator("a.card-link").click()
    expect(page).to_have_url(re.compile(rf"/clients/{client_id}$"))
    page.locator(f".actionbar a[href='/clients/{client_id}/visits/new']").click()
    expect(page).to_have_url(re.compile(rf"/clients/{client_id}/visits/new$"))
    summary = "在朝阳支行大堂面谈，了解基金定投"
    page.locator("textarea[name=summary]").fill(summary)
    page.locator(f"form[action='/clients/{client_id}/visits/new'] button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"/clients/{client_id}$"))
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li", has_text=summary)).to_have_count(1)
    expect(timeline.locator("a[href^='/visits/']")).to_have_count(1)
    assert count(app, VisitLog, VisitLog.client_id == client_id) == 1
    page.screenshot(path=str(artifacts / "journey-client-file.png"), full_page=True)


def live_search(page: Page, text: str) -> None:
    """Type into the search box of the client list and wait for htmx to show the results."""
    page.locator("#q").press_sequentially(text, delay=60)
    expect(page).to_have_url(re.compile(rf"/clients\?(.*&)?q={text}(&|$)"))


def test_tapping_a_result_while_typing_opens_its_address(world, page):
    """Tap a live result with the keyboard still up: the address bar shows the client file."""
    client = factories.make_client(world.manager1, name="张三丰")
    seed_clients(world.manager1, "李四光")
    sign_in(page, "manager1")
    live_search(page, "zsf")
    expect(page.locator("#results .card")).to_have_count(1)
    page.locator("#results a.card-link").first.tap()
    expect(page.locator("h1")).to_contain_text("张三丰")
    expect(page).to_have_url(re.compile(rf"/clients/{client.id}$"), timeout=2_000)


def test_live_search_keeps_a_single_results_section(world, page):
    """The results region exists once after a live search (unique id, one aria-live region)."""
    seed_clients(world.manager1, "张三丰", "李四光")
    sign_in(page, "manager1")
    live_search(page, "zsf")
    expect(page.locator("#results .card")).to_have_count(1)
    expect(page.locator("[id=results]")).to_have_count(1, timeout=2_000)


def test_client_list_and_prospect_form_fit_a_390px_phone(world, page):
    """No sideways scrolling; buttons, inputs and selects at least 40 px high."""
    seed_clients(world.manager1, "欧阳娜娜", "司马相如", "王小明")
    sign_in(page, "manager1")
    page.goto("/clients")
    expect(page.locator("#results .card")).to_have_count(3)
    assert_fits_phone(page)

    page.goto("/clients/new")
    expect(page.locator("input[name=name]")).to_be_visible()
    assert_fits_phone(page)


def test_plain_html_works_without_javascript(app, world, new_page):
    """JavaScript off: sign in, capture, and search with the <noscript> submit button."""
    seed_clients(world.manager1, "李四光")
    page = new_page(java_script_enabled=False)
    sign_in(page, "manager1")
    client_id = capture_prospect(page, "张三丰", "139 1234 5678")
    expect(page.locator("#revealed_mobile .masked")).to_have_text("139****5678")

    page.locator("header nav a[href='/clients']").click()
    expect(page.locator("#results .card")).to_have_count(2)
    page.locator("#q").fill("zsf")
    search_button = page.locator("form[role=search] button[type=submit]")
    expect(search_button).to_be_visible()
    search_button.click()

    expect(page).to_have_url(re.compile(r"/clients\?(.*&)?q=zsf(&|$)"))
    cards = page.locator("#results .card")
    expect(cards).to_have_count(1)
    expect(cards.first.locator("a.card-link")).to_have_attribute("href", f"/clients/{client_id}")
    expect(cards.first).to_contain_text("张三丰")
    expect(page.locator("#q")).to_have_value("zsf")
    assert count(app, Client) == 2


def test_double_tap_on_save_prospect_creates_one_client(app, world, new_page, live_server):
    """With htmx, a quick double tap on "Save prospect" sends one request and files one client."""
    page = new_page()
    sign_in(page, "manager1")
    page.goto("/clients/new")
    page.locator("input[name=name]").fill("张三丰")
    page.locator("input[name=mobile]").fill("139 1234 5678")
    live_server.slow_down("POST", "/clients/new", 0.5)

    page.locator("form[action='/clients/new'] button[type=submit]").dblclick()

    expect(page).to_have_url(CLIENT_FILE_URL)
    expect(page.locator("h1")).to_contain_text("张三丰")
    expect(page.locator("#revealed_mobile .masked")).to_have_text("139****5678")
    live_server.wait_idle()
    assert live_server.count("POST", "/clients/new") == 1, "htmx let the second tap through"
    assert count(app, Client) == 1
    assert count(app, Client, Client.mobile == "13912345678") == 1
    assert count(app, FormSubmission, FormSubmission.kind == "client") == 1


def test_second_tap_on_a_slow_save_without_javascript_opens_the_same_client(
        app, world, new_page, live_server):
    """Plain HTML, slow network: the first save is done but its answer is late, the manager taps
    again. The browser sends the form twice; the form's one-time token files the prospect once
    and the second answer opens the same client file, without a "number already on file" error."""
    page = new_page(java_script_enabled=False)
    sign_in(page, "manager1")
    page.goto("/clients/new")
    page.locator("input[name=name]").fill("张三丰")
    page.locator("input[name=mobile]").fill("139 1234 5678")
    save = page.locator("form[action='/clients/new'] button[type=submit]")
    live_server.slow_down("POST", "/clients/new", 1.5)

    box = save.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # Raw taps: locator actions would wait for the pending navigation (the late answer) first.
    page.touchscreen.tap(x, y)
    live_server.wait_for("POST", "/clients/new", 1)  # saved on the server, answer still on its way
    page.touchscreen.tap(x, y)

    expect(page).to_have_url(CLIENT_FILE_URL)
    expect(page.locator("h1")).to_contain_text("张三丰")
    expect(page.locator(".field-error")).to_have_count(0)
    live_server.wait_idle()
    assert live_server.count("POST", "/clients/new") == 2, "the browser did not post twice"
    with app.app_context():
        client_ids = db.session.scalars(sa.select(Client.id)).all()
    assert len(client_ids) == 1
    expect(page).to_have_url(re.compile(rf"/clients/{client_ids[0]}$"))
    assert count(app, FormSubmission, FormSubmission.kind == "client") == 1


def test_chinese_is_the_default_language(world, page, artifacts):
    """Before and after sign-in, a user who chose nothing gets <html lang="zh-CN">."""
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("input[name=username]")).to_be_visible()
    page.screenshot(path=str(artifacts / "login.png"), full_page=True)

    sign_in(page, "manager1")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # The same after a full page load (a boosted navigation swaps only the body).
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#results")).to_be_visible()
