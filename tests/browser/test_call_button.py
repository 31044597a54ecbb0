"""Tap to call on a 390 px phone: a real button in a POST form, big enough to tap, logged once."""
from __future__ import annotations

import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditEvent
from tests import factories
from tests.browser.conftest import HAVE_PLAYWRIGHT

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import expect

    from tests.browser.helpers import sign_in


def test_the_call_button_is_tappable_and_posts_the_logged_call(page, live_server, app, world):
    client = factories.make_client(world.manager1, name="张三", mobile="13812341234")
    db.session.commit()
    sign_in(page, "manager1")
    page.goto(f"/clients/{client.id}")
    button = page.locator(f"form[action='/clients/{client.id}/call'][method=post] button[type=submit]")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None
    assert box["height"] >= 44 and box["width"] >= 44, box  # a finger-sized target
    assert 0 <= box["x"] and box["x"] + box["width"] <= 390, box  # on screen, no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)
    page.evaluate("document.addEventListener('securitypolicyviolation', e => "
                  "console.error('CSP ' + e.violatedDirective + ' ' + e.blockedURI))")
    button.tap()
    # The browser follows the 303 to tel: (the dialer); the server saw one POST and answered 303.
    live_server.wait_for("POST", f"/clients/{client.id}/call", 1)
    with live_server.log.lock:
        answers = [status for method, path, status in live_server.log.requests
                   if path == f"/clients/{client.id}/call"]
    assert [(a.split()[0]) for a in answers] == ["303"], answers
    with app.app_context():
        rows = db.session.execute(sa.select(AuditEvent.actor_id).where(
            AuditEvent.action == "reveal.mobile.call", AuditEvent.object_id == client.id)).scalars().all()
    assert rows == [world.manager1.id]
    assert live_server.count("GET", f"/clients/{client.id}/call") == 0
    # The redirect to the dialer is allowed by the page's CSP (form-action covers a form's redirects).
    page.wait_for_timeout(500)
    assert not [text for text in violations if "form-action" in text or "CSP" in text], violations
