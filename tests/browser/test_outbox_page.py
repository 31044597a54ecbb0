"""Admin → Outbox on a phone: the sender's state and a disagreement with the web process fit the screen."""
from __future__ import annotations

from playwright.sync_api import expect

from crm.extensions import db
from crm.models import ProcessHeartbeat, utcnow
from tests.browser.helpers import sign_in


def test_the_sender_and_a_configuration_mismatch_fit_a_phone(app, world, page, artifacts):
    app.config.update(CRM_BASE_URL="http://127.0.0.1:5000", CRM_MAIL_FROM="outlet-crm@localhost")
    db.session.add(ProcessHeartbeat(
        owner="crm-scheduler-01.branch.bank.example:48213", kind="scheduler", version="0.1.0",
        base_url="https://crm.outlets.bank.example", mail_from="Outlet CRM <outlet-crm@mail.bank.example>",
        smtp_host="smtp-relay.internal.bank.example", smtp_port=587, smtp_tls="starttls", seen_at=utcnow(),
        pass_at=utcnow(), pass_outcome="reminders queued 3; 3 sent, 0 to retry, 0 failed"))
    db.session.commit()
    sign_in(page, "admin")
    page.goto("/admin/outbox")
    sender = page.locator("#sender")
    expect(sender).to_contain_text("smtp-relay.internal.bank.example:587")
    expect(sender).to_contain_text("定时任务进程")
    expect(sender.locator(".flash.error")).to_have_count(2)  # base URL and mail-from both differ
    expect(sender.locator(".flash.error").first).to_contain_text("https://crm.outlets.bank.example")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the outbox is {width}px wide on a 390px screen"
    page.screenshot(path=str(artifacts / "outbox-sender-phone.png"), full_page=True)
