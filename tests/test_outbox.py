"""The email outbox against a real SMTP server (aiosmtpd on 127.0.0.1): delivery, retries, crashes, races."""
from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from flask_babel import force_locale, format_datetime, gettext
from sqlalchemy import orm as so

from crm.extensions import db
from crm.models import AuditEvent, FollowUpKind, JobRun, OutboxEmail, ProcessHeartbeat, utcnow
from crm.services import followups, heartbeats, mail, outbox, processes
from tests.factories import make_client


def free_port() -> int:
    """A loopback port nothing listens on (until the test starts a server there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message the server accepted."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.original_content, policy=email.policy.default) for e in self.envelopes]


class SmtpServer:
    """A real SMTP server on a fixed loopback port that a test can start and stop."""

    def __init__(self, **options) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(app):
    """A running SMTP server the app is configured to send through."""
    server = SmtpServer()
    server.start()
    app.config.update(CRM_SMTP_HOST="127.0.0.1", CRM_SMTP_PORT=server.port, CRM_SMTP_TLS="none",
                      CRM_SMTP_USER="", CRM_MAIL_FROM="Outlet CRM <crm@example.com>")
    yield server
    server.stop()


def queue_assignment(world, assignee=None, client_name: str = "张三"):
    """A follow-up handed to `assignee` (manager1 by default), told in the app and by email; committed."""
    assignee = assignee or world.manager1
    client = make_client(assignee, name=client_name)
    due = utcnow() + timedelta(days=1)
    followup = followups.create(client, assignee, due, FollowUpKind.CALL, creator=world.lead, title="带上宣传册")
    followups.notify(assignee, "New follow-up", f"/followups/{followup.id}", email_template="followup_assigned",
                     followup=followup, actor=world.lead)
    db.session.commit()
    return db.session.execute(sa.select(OutboxEmail).where(OutboxEmail.to_address == assignee.email)
                              .order_by(OutboxEmail.id.desc())).scalars().first()


def queue_many(world, count: int) -> None:
    """`count` emails to manager1 through mail.queue; committed."""
    client = make_client(world.manager1)
    followup = followups.create(client, world.manager1, utcnow(), FollowUpKind.CALL)
    for n in range(count):
        mail.queue(world.manager1, "followup_assigned", dedupe_key=f"bulk:{n}", followup=followup,
                   actor=world.lead, url="http://127.0.0.1:5000/")
    db.session.commit()


def reload(row: OutboxEmail) -> OutboxEmail:
    db.session.expire_all()
    return db.session.get(OutboxEmail, row.id)


def test_an_email_queued_with_its_event_is_delivered_and_marked_sent(app, world, smtp):
    row = queue_assignment(world)
    report = outbox.deliver_due()
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [envelope] = smtp.inbox.envelopes
    assert envelope.mail_from == "crm@example.com" and envelope.rcpt_tos == ["m1@example.com"]
    [message] = smtp.inbox.messages
    assert message["To"] == "m1@example.com"
    assert message["From"] == "Outlet CRM <crm@example.com>"
    assert message["Message-ID"] == row.message_id
    assert message["Subject"] == row.subject and "张三" in message["Subject"]
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert "张三" in message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "<html" in html and "/followups/" in html
    row = reload(row)
    assert row.status == "sent" and row.sent_at is not None and row.lease_until is None


def test_an_email_rolled_back_with_its_event_is_never_sent(app, world, smtp):
    client = make_client(world.manager1)
    followup = followups.create(client, world.manager1, utcnow(), FollowUpKind.CALL)
    mail.queue(world.manager1, "followup_assigned", followup=followup, actor=None, url="http://x/")
    db.session.rollback()
    assert outbox.deliver_due().sent == 0
    assert smtp.inbox.envelopes == [] and db.session.query(OutboxEmail).count() == 0


def test_a_down_server_leaves_the_email_queued_and_it_is_delivered_once_after_the_backoff(app, world, smtp):
    row = queue_assignment(world)
    smtp.stop()
    t0 = utcnow()
    report = outbox.deliver_due(now=t0)
    assert (report.sent, report.retried) == (0, 1)
    row = reload(row)
    assert row.status == "queued" and row.attempts == 1
    assert row.next_attempt_at == t0 + timedelta(minutes=1)
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()

    smtp.start()
    assert outbox.deliver_due(now=t0 + timedelta(seconds=30)).sent == 0  # still backing off
    assert outbox.deliver_due(now=t0 + timedelta(minutes=1, seconds=1)).sent == 1
    assert len(smtp.inbox.envelopes) == 1
    assert smtp.inbox.messages[0]["Message-ID"] == row.message_id
    row = reload(row)
    assert row.status == "sent" and row.attempts == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_sender_logs_in_when_a_user_is_configured(app, world):
    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"crm", b"s3cret"), handled=False)

    server = SmtpServer(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    server.start()
    try:
        app.config.update(CRM_SMTP_HOST="127.0.0.1", CRM_SMTP_PORT=server.port, CRM_SMTP_TLS="none",
                          CRM_SMTP_USER="crm", CRM_SMTP_PASSWORD="wrong")
        row = queue_assignment(world)
        assert outbox.deliver_due().retried == 1
        assert "SMTPAuthenticationError" in reload(row).last_error and server.inbox.envelopes == []
        app.config["CRM_SMTP_PASSWORD"] = "s3cret"
        assert outbox.send_now().sent == 1
        assert len(server.inbox.envelopes) == 1
    finally:
        server.stop()


@pytest.fixture
def tls(tmp_path):
    """A private CA (written to a PEM file the app can trust) and server contexts for 127.0.0.1."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, str(ca_file)


def test_starttls_with_login_delivers_through_a_relay_that_demands_it(app, world, tls):
    """The usual company relay: STARTTLS required before AUTH and MAIL; the certificate is checked."""
    server_context, ca_file = tls

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"crm", b"s3cret"), handled=False)

    server = SmtpServer(tls_context=server_context, require_starttls=True, authenticator=authenticator,
                        auth_required=True)
    server.start()
    try:
        app.config.update(CRM_SMTP_HOST="127.0.0.1", CRM_SMTP_PORT=server.port, CRM_SMTP_TLS="none",
                          CRM_SMTP_USER="crm", CRM_SMTP_PASSWORD="s3cret", CRM_SMTP_CA_FILE=ca_file)
        row = queue_assignment(world)
        assert outbox.deliver_due().retried == 1  # plain SMTP is refused by this relay
        assert reload(row).status == "queued" and server.inbox.envelopes == []
        app.config["CRM_SMTP_TLS"] = "starttls"
        assert outbox.send_now().sent == 1
        [message] = server.inbox.messages
        assert message["Message-ID"] == row.message_id
    finally:
        server.stop()


def test_implicit_tls_delivers(app, world, tls):
    server_context, ca_file = tls
    server = SmtpServer(server_hostname="127.0.0.1", ssl_context=server_context)
    server.start()
    try:
        app.config.update(CRM_SMTP_HOST="127.0.0.1", CRM_SMTP_PORT=server.port, CRM_SMTP_TLS="ssl",
                          CRM_SMTP_USER="", CRM_SMTP_CA_FILE=ca_file)
        queue_assignment(world)
        assert outbox.deliver_due().sent == 1
        assert len(server.inbox.envelopes) == 1
    finally:
        server.stop()


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_a_certificate_nobody_trusts_is_refused_and_the_email_kept(app, world, tls, mode):
    server_context, _ca_file = tls
    options = ({"tls_context": server_context, "require_starttls": True} if mode == "starttls"
               else {"server_hostname": "127.0.0.1", "ssl_context": server_context})
    server = SmtpServer(**options)
    server.start()
    try:
        app.config.update(CRM_SMTP_HOST="127.0.0.1", CRM_SMTP_PORT=server.port, CRM_SMTP_TLS=mode,
                          CRM_SMTP_USER="", CRM_SMTP_CA_FILE="")
        row = queue_assignment(world)
        assert outbox.deliver_due().retried == 1
        assert "CERTIFICATE_VERIFY_FAILED" in reload(row).last_error
        assert server.inbox.envelopes == []
    finally:
        server.stop()


def test_running_the_sender_again_after_a_delivery_sends_nothing(app, world, smtp):
    queue_assignment(world)
    assert outbox.deliver_due().sent == 1
    for later in (timedelta(0), timedelta(minutes=10), timedelta(days=2)):
        report = outbox.deliver_due(now=utcnow() + later)
        assert report.claimed == 0
    assert len(smtp.inbox.envelopes) == 1


def test_a_crash_between_send_and_mark_resends_once_with_the_same_message_id(app, world, smtp):
    row = queue_assignment(world)
    t0 = utcnow()
    # The sender claims and sends through the same code as deliver_due, then "dies" before marking.
    with so.Session(db.engine, expire_on_commit=False) as session:
        assert outbox.claim(session, row.id, t0) == t0 + outbox.LEASE
        claimed = session.get(OutboxEmail, row.id)
        sender = outbox.SmtpSender(app.config)
        assert sender.send(claimed) == ""
        sender.close()
    assert len(smtp.inbox.envelopes) == 1 and reload(row).status == "sending"

    # While the lease is valid no other sender takes it.
    assert outbox.deliver_due(now=t0 + timedelta(minutes=4)).claimed == 0
    # After it expires the email is sent again, once, as the same message.
    assert outbox.deliver_due(now=t0 + timedelta(minutes=5, seconds=1)).sent == 1
    assert outbox.deliver_due(now=t0 + timedelta(minutes=30)).claimed == 0
    first, second = smtp.inbox.messages
    assert first["Message-ID"] == second["Message-ID"] == row.message_id
    assert first["Date"] == second["Date"]
    assert reload(row).status == "sent"


def test_two_concurrent_senders_deliver_each_email_exactly_once(app, world, smtp):
    queue_many(world, 20)
    start, reports, errors = threading.Barrier(2), [], []

    def sender(name: str) -> None:
        try:
            with app.app_context():
                start.wait()
                reports.append(outbox.deliver_due(limit=50, owner=name))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(f"sender-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(r.sent for r in reports) == 20 and sum(r.retried + r.failed for r in reports) == 0
    message_ids = [m["Message-ID"] for m in smtp.inbox.messages]
    assert len(message_ids) == 20 and len(set(message_ids)) == 20
    db.session.expire_all()
    assert db.session.query(OutboxEmail).filter_by(status="sent").count() == 20


def test_without_smtp_nothing_is_sent_and_the_admin_page_lists_the_queued_email(app, world, login):
    app.config["CRM_SMTP_HOST"] = ""
    world.admin.locale = "en"
    row = queue_assignment(world)
    report = outbox.deliver_due()
    assert report.skipped_no_smtp == 1 and report.claimed == 0
    row = reload(row)
    assert row.status == "queued" and row.attempts == 0
    admin = login("admin")
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert "No SMTP server is configured" in page
    assert "m1@example.com" in page and row.subject in page and "Queued" in page
    response = admin.post("/admin/outbox/send")
    assert response.status_code == 303
    assert reload(row).status == "queued"


def due_as_rendered(row: OutboxEmail, locale: str) -> str:
    """The due time of the recipient's latest follow-up, formatted as the email shows it in `locale`."""
    from crm.models import FollowUp, User

    followup = db.session.execute(
        sa.select(FollowUp).join(User, User.id == FollowUp.assignee_id).where(User.email == row.to_address)
        .order_by(FollowUp.id.desc())).scalars().first()
    with force_locale(locale):
        return format_datetime(followup.due_at, "short")


def test_the_email_is_written_in_the_recipients_language(app, world):
    world.manager2.locale = "en"
    chinese = queue_assignment(world, world.manager1, client_name="张三")
    english = queue_assignment(world, world.manager2, client_name="李四")
    assert english.subject == "New follow-up: 李四"
    with force_locale("zh_CN"):
        assert chinese.subject == gettext("New follow-up: %(client)s", client="张三")
    # Whatever the catalogs hold: dates follow each recipient's locale (CLDR formats differ).
    due_zh, due_en = due_as_rendered(chinese, "zh_CN"), due_as_rendered(english, "en")
    assert due_zh != due_en
    assert due_zh in chinese.text_body and due_zh in chinese.html_body
    assert due_en in english.text_body and due_en in english.html_body


def test_backoff_doubles_from_one_minute_up_to_an_hour():
    assert [outbox.backoff(n).total_seconds() / 60 for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_after_twelve_failed_attempts_the_email_is_failed_and_an_admin_can_requeue_it(app, world, smtp, login):
    row = queue_assignment(world)
    smtp.stop()
    now = utcnow()
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        report = outbox.deliver_due(now=now)
        row = reload(row)
        assert row.attempts == attempt
        if attempt < outbox.MAX_ATTEMPTS:
            assert report.retried == 1 and row.status == "queued"
        now = row.next_attempt_at
    assert report.failed == 1 and row.status == "failed" and row.last_error
    assert outbox.deliver_due(now=now + timedelta(days=1)).claimed == 0

    admin = login("admin")
    page = admin.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "m1@example.com" in page and f"/admin/outbox/{row.id}/requeue" in page
    assert admin.post(f"/admin/outbox/{row.id}/requeue").status_code == 303
    row = reload(row)
    assert row.status == "queued" and row.attempts == 0
    assert db.session.query(AuditEvent).filter_by(action="outbox.requeue", object_id=row.id).count() == 1
    assert outbox.requeue(row.id) is False  # only a failed email is requeued

    smtp.start()
    assert admin.post("/admin/outbox/send").status_code == 303
    assert len(smtp.inbox.envelopes) == 1 and reload(row).status == "sent"


def test_send_now_on_the_admin_page_delivers_the_due_emails(app, world, smtp, login):
    queue_many(world, 3)
    admin = login("admin")
    response = admin.post("/admin/outbox/send")
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/outbox")
    assert len(smtp.inbox.envelopes) == 3
    page = admin.get("/admin/outbox?status=sent").get_data(as_text=True)
    assert page.count('class="card"') == 3


def test_send_now_does_not_wait_for_the_backoff_once_the_server_is_back(app, world, smtp, login):
    row = queue_assignment(world)
    smtp.stop()
    assert outbox.deliver_due().retried == 1
    assert reload(row).next_attempt_at > utcnow()
    smtp.start()
    assert outbox.deliver_due().claimed == 0  # still backing off
    assert login("admin").post("/admin/outbox/send").status_code == 303
    assert len(smtp.inbox.envelopes) == 1
    row = reload(row)
    assert row.status == "sent" and row.attempts == 1


def test_the_send_email_command_delivers_the_due_emails(app, world, smtp, runner):
    queue_many(world, 3)
    result = runner.invoke(args=["send-email", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "3 sent, 0 to retry, 0 failed." in result.output
    assert len(smtp.inbox.envelopes) == 3
    app.config["CRM_SMTP_HOST"] = ""
    queue_assignment(world)
    result = runner.invoke(args=["send-email"])
    assert "CRM_SMTP_HOST is not set: 1 due emails stay in the outbox." in result.output


def test_each_send_email_pass_is_recorded_as_the_processs_delivery_pass(app, world, smtp, runner):
    queue_many(world, 2)
    assert runner.invoke(args=["send-email"]).exit_code == 0
    [row] = db.session.query(ProcessHeartbeat).all()
    assert (row.kind, row.pass_outcome) == ("command", "send-email: 2 sent, 0 to retry, 0 failed")
    assert db.session.query(JobRun).count() == 0  # a pass job claims no slot: the outbox leases each email


@pytest.mark.parametrize("username", ["manager1", "lead"])
@pytest.mark.parametrize("method,path", [("get", "/admin/outbox"), ("post", "/admin/outbox/send"),
                                         ("post", "/admin/outbox/1/requeue")])
def test_only_an_admin_reaches_the_outbox(login, world, username, method, path):
    assert getattr(login(username), method)(path).status_code == 403


def test_the_outbox_asks_an_anonymous_visitor_to_sign_in(client, world):
    response = client.get("/admin/outbox")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- the sender's state, from its heartbeat

def scheduler_heartbeat(**values) -> ProcessHeartbeat:
    """A scheduler on another host reporting in, as `heartbeats.beat` writes it; committed."""
    row = ProcessHeartbeat(**{"owner": "sched-1:4242", "kind": "scheduler", "version": "0.1.0",
                              "base_url": "http://127.0.0.1:5000", "mail_from": "outlet-crm@localhost",
                              "smtp_host": "smtp.bank.example", "smtp_port": 587, "smtp_tls": "starttls",
                              "seen_at": utcnow(), "pass_at": utcnow(),
                              "pass_outcome": "reminders queued 2; 2 sent, 0 to retry, 0 failed", **values})
    db.session.add(row)
    db.session.commit()
    return row


def outbox_page(login, world) -> str:
    world.admin.locale = "en"
    db.session.commit()
    return login("admin").get("/admin/outbox").get_data(as_text=True)


def test_the_outbox_reports_the_schedulers_smtp_server_not_the_web_processs(app, world, login):
    app.config["CRM_SMTP_HOST"] = ""  # the web process has none; the scheduler sends
    scheduler_heartbeat()
    page = outbox_page(login, world)
    assert "Sending through smtp.bank.example:587 (starttls)." in page
    assert "sched-1:4242" in page and "reminders queued 2; 2 sent" in page
    assert "The sender has no SMTP server configured" not in page
    assert "disagree" not in page


def test_the_outbox_says_when_the_scheduler_has_no_smtp_server(app, world, login):
    app.config["CRM_SMTP_HOST"] = "127.0.0.1"
    scheduler_heartbeat(smtp_host="")
    page = outbox_page(login, world)
    assert "The sender has no SMTP server configured (CRM_SMTP_HOST)" in page
    assert "Sending through" not in page


def test_the_outbox_warns_when_web_and_scheduler_would_write_different_links(app, world, login):
    app.config.update(CRM_BASE_URL="http://127.0.0.1:5000", CRM_MAIL_FROM="outlet-crm@localhost")
    scheduler_heartbeat(base_url="https://crm.bank.example", mail_from="Outlet CRM <crm@bank.example>")
    page = outbox_page(login, world)
    assert "CRM_BASE_URL = http://127.0.0.1:5000, the sender https://crm.bank.example" in page
    assert "CRM_MAIL_FROM = outlet-crm@localhost, the sender Outlet CRM &lt;crm@bank.example&gt;" in page
    assert f"The web process {processes.owner_name()} has" in page


def test_the_outbox_names_another_web_process_that_disagrees_with_the_sender(app, world, login):
    app.config.update(CRM_BASE_URL="https://crm.bank.example", CRM_MAIL_FROM="crm@bank.example")
    scheduler_heartbeat(base_url="https://crm.bank.example", mail_from="crm@bank.example")
    scheduler_heartbeat(owner="web-2:77", kind="web", base_url="http://127.0.0.1:5000",
                        mail_from="crm@bank.example", pass_at=None, pass_outcome="")
    page = outbox_page(login, world)
    assert "The web process web-2:77 has CRM_BASE_URL = http://127.0.0.1:5000, the sender https://crm.bank.example" in page
    assert page.count("The web process") == 1


def test_the_outbox_says_when_no_scheduler_reported_or_it_went_quiet(app, world, login):
    assert "No scheduler has reported yet" in outbox_page(login, world)
    scheduler_heartbeat(seen_at=utcnow() - timedelta(hours=2))
    assert "has not been seen since" in outbox_page(login, world)


def test_a_heartbeat_records_what_the_process_runs_with_but_never_the_password(app, world):
    app.config.update(CRM_SMTP_HOST="smtp.bank.example", CRM_SMTP_PORT=465, CRM_SMTP_TLS="ssl",
                      CRM_SMTP_USER="crm", CRM_SMTP_PASSWORD="s3cret-pass", CRM_BASE_URL="https://crm.bank.example")
    assert heartbeats.beat(app.config, heartbeats.SCHEDULER, pass_at=utcnow(), pass_outcome="reminders queued 0")
    assert heartbeats.beat(app.config, heartbeats.SCHEDULER)  # the same process again: one row
    [row] = db.session.query(ProcessHeartbeat).all()
    assert (row.kind, row.smtp_host, row.smtp_port, row.smtp_tls, row.base_url) == (
        "scheduler", "smtp.bank.example", 465, "ssl", "https://crm.bank.example")
    assert row.owner == processes.owner_name() and row.version and row.pass_outcome == "reminders queued 0"
    values = db.session.execute(sa.select(ProcessHeartbeat.__table__)).one()
    assert not any("s3cret" in str(v) for v in values)


def test_each_web_process_records_its_heartbeat_on_its_first_request(app, world, client):
    app.config["CRM_BASE_URL"] = "http://crm.example.test"
    client.get("/login")
    [row] = db.session.query(ProcessHeartbeat).all()
    assert (row.kind, row.base_url) == ("web", "http://crm.example.test")


def test_send_now_without_smtp_in_the_web_process_leaves_delivery_to_the_scheduler(app, world, login):
    app.config["CRM_SMTP_HOST"] = ""
    row = queue_assignment(world)
    db.session.execute(sa.update(OutboxEmail).values(next_attempt_at=utcnow() + timedelta(minutes=30)))
    db.session.commit()
    admin = login("admin")
    assert admin.post("/admin/outbox/send").status_code == 303
    row = reload(row)
    assert row.status == "queued" and row.next_attempt_at <= utcnow()
