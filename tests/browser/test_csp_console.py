"""Every main page under the strict CSP, and the main htmx actions, with no console error, at 390×844.

The pages are the GET rules of the URL map (Today, clients, a client file and each of its tabs, new
prospect, new visit, follow-ups, Team, complaints, plans, suitability, admin, audit, outbox,
settings, sessions, …) with their ids filled from a seeded world; each demo role opens every one it
may (an answer other than 200 is left out). Then a manager saves a visit, filters the client list
and plans a follow-up through htmx. Console errors and uncaught page errors fail the test.

No screenshots here: Playwright's screenshot leaves an empty `style=""` on the page's inputs (its
caret hiding, through the CSSOM), which the next htmx swap used to copy back with setAttribute.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from crm.extensions import db
from crm.models import OutboxEmail, Product, utcnow
from crm.services import assets, complaints, followups, plans, profiles, suitability
from tests import factories
from tests.browser.conftest import HAVE_PLAYWRIGHT

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import Page, expect

    from tests.browser.helpers import sign_in

# Pages that are not pages: a health check, a dialer hand-off, files.
NOT_PAGES = {"static", "main.healthz", "clients.call", "main.home"}
CSV = re.compile(r"format=csv")


def seed(world) -> dict[str, int]:
    """One client of manager1 with something on every tab, and one record of every other kind; the URL ids."""
    questionnaire = factories.make_questionnaire()
    product = Product(code="F001", name="稳健一号", kind="fund", risk=1, active=True)
    db.session.add(product)
    db.session.flush()
    client = factories.make_client(world.manager1, name="张三", mobile="13912345678")
    factories.make_client(world.manager1, name="李四")
    visit = factories.make_visit(client, world.manager1)
    followup = followups.create(client, world.manager1, utcnow() + timedelta(days=1), "call", title="回访",
                                creator=world.lead, notify_assignee=True)
    complaint = complaints.register(world.manager1, {
        "complainant_name": "张三", "complainant_contact": "13912345678", "channel": "phone",
        "category": "fees", "severity": "normal", "facts": "佣金过高"}, client=client)
    profiles.save_profile(client, world.manager1, {"income_band": "10_30w", "goals": "retirement"}, 0)
    assessment = suitability.submit_assessment(client, questionnaire, world.manager1,
                                               {q.id: q.options[1].id for q in questionnaire.questions})
    suitability.recommend(client, product, world.manager1)
    assets.add_snapshot(client, world.manager1, date.today() - timedelta(days=1), 50_000_000)
    template = plans.save_template(None, world.admin, name="控制台测试模板", tier_id=None, goals="",
                                   review_months=12, active=True)
    plans.add_template_item(template, world.admin, {"kind": "review_call", "cadence": "months", "every": 3})
    plans.start_plan(client, world.manager1, template, "稳健增值")
    email = OutboxEmail(message_id=f"<{uuid.uuid4()}@example.com>", to_address="m1@example.com", subject="提醒",
                        text_body="提醒", status="failed", attempts=5)
    db.session.add(email)
    db.session.commit()
    return {"client_id": client.id, "visit_id": visit.id, "followup_id": followup.id, "complaint_id": complaint.id,
            "assessment_id": assessment.id, "template_id": template.id, "user_id": world.manager2.id,
            "team_id": world.team.id, "outlet_id": world.outlets[0].id, "product_id": product.id,
            "questionnaire_id": questionnaire.id}


def main_pages(app, ids: dict[str, int]) -> list[str]:
    """Every GET page of the URL map whose path ids the seeded world can fill."""
    urls = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
            continue
        if any(name not in ids for name in rule.arguments):
            continue  # e.g. a session's id: that page is reached through its list
        urls.add(rule.build({name: ids[name] for name in rule.arguments}, append_unknown=False)[1])
    return sorted(urls)


class Console:
    """Console errors and uncaught exceptions of a page, each with the path of the page it happened on."""

    def __init__(self, page: Page):
        self.errors: list[tuple[str, str]] = []
        page.on("console", lambda msg: self.errors.append((self._path(page), msg.text)) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append((self._path(page), f"uncaught {exc}")))

    @staticmethod
    def _path(page: Page) -> str:
        return "/" + page.url.split("/", 3)[-1] if page.url.count("/") >= 3 else page.url

    def take(self, leaving_out: set[str] = frozenset()) -> list[str]:
        """The errors so far (but those on pages in `leaving_out`), as lines; the list starts again."""
        taken = [f"{path}: {text}" for path, text in self.errors if path not in leaving_out]
        self.errors.clear()
        return taken


def visit_every_page(page: Page, console: Console, urls: list[str]) -> tuple[list[str], list[str]]:
    """Open each page; the ones answered 200 must not log an error. Returns (opened, problems)."""
    opened, left_out = [], set()
    for url in urls:
        response = page.goto(url)
        html = response is not None and response.headers.get("content-type", "").startswith("text/html")
        if not html or response.status != 200 or Console._path(page) != url:
            # Not this role's page (403, 404, sent elsewhere), or not a page (JSON: chromium then
            # asks for a /favicon.ico, which is a 404).
            left_out.add(Console._path(page))
            continue
        opened.append(url)
    page.goto("/settings")  # a last page, so that the previous one's late messages are in
    page.wait_for_load_state("load")
    return opened, console.take(leaving_out=left_out)


def test_every_main_page_loads_under_the_csp_without_console_errors(app, world, live_server, new_page):
    ids = seed(world)
    urls = main_pages(app, ids)
    seen: dict[str, list[str]] = {}
    problems: list[str] = []
    for username in ("manager1", "lead", "admin"):
        page = new_page()
        console = Console(page)
        sign_in(page, username)
        problems += console.take()
        opened, found = visit_every_page(page, console, urls)
        seen[username] = opened
        problems += found
        page.context.close()
    assert not problems, "\n".join(problems)
    client = f"/clients/{ids['client_id']}"
    # The brief's main pages, so that a role's page silently dropping out of the list is noticed.
    for url in ("/today", "/clients", client, f"{client}/profile", f"{client}/suitability", f"{client}/plan",
                f"{client}/assets", "/clients/new", f"{client}/visits/new", f"/followups/{ids['followup_id']}",
                "/complaints", "/complaints/new", f"/complaints/{ids['complaint_id']}", "/plans",
                "/suitability/expiring", "/settings"):
        assert url in seen["manager1"], url
    assert "/team" in seen["lead"] and "/suitability/overview" in seen["lead"]
    for url in ("/admin/users", "/admin/audit", "/admin/outbox", "/admin/settings", "/compliance/recommendations",
                "/admin/plan-templates", "/admin/workdays", "/admin/assets"):
        assert url in seen["admin"], url


def test_saving_a_visit_filtering_clients_and_planning_a_follow_up_log_no_console_error(
        app, world, live_server, page):
    """The htmx actions: a refused then a saved visit, the live client filter, a new follow-up."""
    ids = seed(world)
    client = ids["client_id"]
    console = Console(page)
    sign_in(page, "manager1")

    page.locator("header nav a[href='/clients']").click()
    # The boosted navigation must have landed (and htmx processed the list) before the filter changes.
    expect(page).to_have_url(re.compile(r"/clients$"))
    page.wait_for_load_state("networkidle")
    page.evaluate("() => { window.sameDocument = true; }")
    page.locator("#stage").select_option("prospect")  # 张三 has a visit on file: he is "contacted"
    expect(page).to_have_url(re.compile(r"/clients\?(.*&)?stage=prospect"))
    expect(page.locator("#results .card")).to_have_count(1)
    expect(page.locator("#results .card")).to_contain_text("李四")
    page.locator("#stage").select_option("")
    page.locator("#q").press_sequentially("张", delay=40)
    expect(page).to_have_url(re.compile(r"/clients\?(.*&)?q=%E5%BC%A0"))
    expect(page.locator("#results .card")).to_have_count(1)
    expect(page.locator("#results .card")).to_contain_text("张三")
    assert page.evaluate("() => window.sameDocument === true"), "the filter reloaded the page"
    page.locator("#q").blur()
    live_server.wait_idle()

    page.locator(f"#results a[href='/clients/{client}']").first.click()
    expect(page).to_have_url(re.compile(rf"/clients/{client}$"))
    page.locator(f".actionbar a[href='/clients/{client}/visits/new']").click()
    expect(page).to_have_url(re.compile(rf"/clients/{client}/visits/new$"))
    form = page.locator(f"form[action='/clients/{client}/visits/new']")
    # What a person dragging the summary box's corner does (the browser writes its size as an inline
    # style, through the CSSOM, which the CSP allows): the next swap must not copy it back as an attribute.
    page.evaluate("() => { document.querySelector('textarea[name=summary]').style.height = '12em'; }")
    form.locator("button[type=submit]").click()  # no summary: refused, the form comes back (422)
    expect(page.locator("textarea[name=summary]")).to_be_visible()
    expect(page.locator(".field-error").first).to_be_visible()
    live_server.wait_idle()
    page.locator("textarea[name=summary]").fill("电话沟通，客户关注定投")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/clients/{client}$"))
    expect(page.locator("ol.timeline li", has_text="电话沟通，客户关注定投")).to_have_count(1)
    live_server.wait_idle()

    page.goto(f"/clients/{client}/followups/new")
    page.locator("input[name=title]").fill("下周回访")
    page.locator("main form:has(input[name=title]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/clients/{client}$"))
    live_server.wait_idle()

    # The refused visit is a 422 on purpose; the browser notes any failed request as a console error.
    errors = [e for e in console.take() if "status of 422" not in e]
    assert not errors, "\n".join(errors)
