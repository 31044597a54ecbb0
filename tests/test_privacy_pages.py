"""Journey (e): no page or export shows a full mobile or ID number, except a deliberate, logged reveal.

A world of clients with full numbers on file is walked as a manager, a lead and an admin. Every
page that can show a client's numbers is in PAGES: add a row when a new page shows client data.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from crm.domain.formats import _id_check_char, mask_mobile
from crm.domain.questionnaire_text import parse_questionnaire
from crm.extensions import db
from crm.models import (
    AuditEvent,
    Client,
    Complaint,
    FollowUp,
    Notification,
    OutboxEmail,
    Product,
    Recommendation,
    Tier,
    VisitLog,
)
from crm.services import clients as client_service
from crm.services import followups, plans, suitability
from tests.factories import make_client, make_visit

ROLES = ("manager1", "lead", "admin")
M, L, A = ("manager1",), ("lead",), ("admin",)
# Anything that looks like a mainland mobile or an 18-character ID number, not inside a longer number.
QUESTIONNAIRE = """
标题: 测试问卷
分档: 4 6 8 10
1. 您能承受的最大损失？
- 不能承受任何损失 | 1 | 最低
- 30%以上 | 5
2. 投资经验？
- 没有 | 1
- 5年以上 | 5
"""
FULL_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
FULL_ID = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")


def id_number(birthday: date, sequence: str) -> str:
    first17 = f"110105{birthday:%Y%m%d}{sequence}"
    return first17 + _id_check_char(first17)


@dataclass
class Privacy:
    """The ids the pages are reached by, and every full number on file."""

    ids: dict
    secrets: list[str]


@pytest.fixture
def privacy(app, world, login) -> Privacy:
    """Clients with full numbers, and everything that quotes them: visits, follow-ups, a plan, a complaint..."""
    gold = make_client(world.manager1, name="张三", mobile="13912345678", id_number=id_number(date(1970, 9, 22), "123"))
    gold.tier_id = db.session.execute(sa.select(Tier.id).where(Tier.name == "金卡")).scalar_one()
    moved = make_client(world.manager1, name="李四", mobile="13787654321", id_number=id_number(date(1985, 3, 7), "456"))
    other = make_client(world.manager2, name="王五", mobile="15011112222", id_number=id_number(date(1990, 1, 2), "789"))
    visit = make_visit(gold, world.manager1, next_contact_on=date.today() + timedelta(days=1),
                       summary="谈了基金定投", next_step="再联系")
    make_visit(other, world.manager2)
    plans.start_plan(gold, world.manager1, plans.template_for(gold), "稳健增值")
    product = Product(code="F001", name="稳健一号", kind="fund", risk=2, active=True)
    db.session.add(product)
    db.session.flush()
    suitability.create_questionnaire(parse_questionnaire(QUESTIONNAIRE), None)
    db.session.add(Recommendation(client_id=gold.id, product_id=product.id, manager_id=world.manager1.id,
                                  outcome="match", investor_type="ordinary", client_level=3, product_risk=2))
    db.session.commit()

    manager = login("manager1")
    # The complaint form is prefilled (masked) and posted back as it came: the number stays on file.
    form = manager.get(f"/complaints/new?client={gold.id}").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', form).group(1)
    posted = manager.post(f"/complaints/new?client={gold.id}", data={
        "token": token, "complainant_name": "张三", "complainant_contact": mask_mobile(gold.mobile),
        "channel": "phone", "category": "fees", "severity": "normal", "facts": "佣金过高"})
    assert posted.status_code == 303
    complaint = db.session.execute(sa.select(Complaint)).scalar_one()
    assert complaint.complainant_contact == "13912345678"
    login("lead").post(f"/clients/{moved.id}/reassign", data={"owner_id": world.manager2.id, "reason": "调岗"})
    followup = db.session.execute(sa.select(FollowUp).where(FollowUp.client_id == gold.id)
                                  .order_by(FollowUp.id)).scalars().first()
    followups.assign([followup], world.lead, world.manager2)
    db.session.commit()
    # Reveals are in the audit trail, which must not quote the number either.
    manager.post(f"/clients/{gold.id}/reveal", data={"field": "mobile"})
    manager.post(f"/clients/{gold.id}/reveal", data={"field": "id_number"})
    db.session.commit()
    db.session.expire_all()
    secrets = [s for c in db.session.execute(sa.select(Client)).scalars() for s in (c.mobile, c.id_number) if s]
    ids = {"client": gold.id, "moved": moved.id, "visit": visit.id, "complaint": complaint.id,
           "followup": followup.id, "plan": plans.active_plan(gold).id}
    return Privacy(ids=ids, secrets=secrets)


# (url, the roles that open it; the others must be refused). Placeholders name Privacy.ids.
PAGES = [
    ("/clients", ROLES),
    ("/clients?q=5678", ROLES),
    ("/clients?q=zs", ROLES),
    ("/clients/{client}", ROLES),
    ("/clients/{client}/edit", ROLES),
    ("/clients/{client}/visits/new", ROLES),
    ("/visits/{visit}", ROLES),
    ("/clients/{client}/profile", ROLES),
    ("/clients/{client}/suitability", ROLES),
    ("/clients/{client}/investor-type", ROLES),
    ("/clients/{client}/assessment", ROLES),
    ("/clients/{client}/recommendations/new", ROLES),
    ("/clients/{client}/assets", ROLES),
    ("/clients/{client}/plan", ROLES),
    ("/clients/{client}/followups/new", ROLES),
    ("/clients/{client}/reassign", L + A),
    ("/followups/{followup}", L + A),
    ("/today", ROLES),
    ("/team", L + A),
    ("/notifications", ROLES),
    ("/plans", ROLES),
    ("/suitability/expiring", ROLES),
    ("/suitability/overview", L + A),
    ("/complaints/new?client={client}", ROLES),
    ("/complaints/{complaint}", ROLES),
    ("/complaints", ROLES),
    ("/complaints?tab=team", ROLES),  # a manager gets their own tab
    ("/complaints?tab=overdue", ROLES),
    ("/complaints?tab=team&format=csv", A),
    ("/compliance/recommendations", A),
    ("/compliance/recommendations?format=csv", A),
    ("/admin/audit", A),
    ("/admin/audit?format=csv", A),
    ("/admin/outbox", A),
]


def _hidden_payloads(app, body: str) -> str:
    """The edit form's signed `loaded` field decoded: it must not carry the numbers either."""
    serializer = URLSafeSerializer(app.secret_key, salt="client-edit")
    found = re.findall(r'name="loaded" type="hidden" value="([^"]*)"', body)
    return " ".join(json.dumps(serializer.loads(value), default=str) for value in found if value)


def assert_no_full_numbers(app, body: str, secrets: list[str], where: str) -> None:
    shown = body + " " + _hidden_payloads(app, body)
    leaked = [s for s in secrets if s in shown or s.lower() in shown]
    assert not leaked, f"{where} shows {leaked}"
    assert not FULL_MOBILE.search(shown), f"{where} shows a full mobile: {FULL_MOBILE.search(shown).group(0)}"
    assert not FULL_ID.search(shown), f"{where} shows a full ID number: {FULL_ID.search(shown).group(0)}"


@pytest.mark.parametrize(("url", "allowed"), PAGES, ids=[url for url, _ in PAGES])
def test_no_page_shows_a_full_number_to_any_role(app, login, privacy, url, allowed):
    target = url.format(**privacy.ids)
    for username in ROLES:
        response = login(username).get(target)
        if username in allowed:
            assert response.status_code == 200, (username, target, response.status_code)
            assert_no_full_numbers(app, response.get_data(as_text=True), privacy.secrets, f"{target} as {username}")
        else:
            assert response.status_code in (403, 404), (username, target, response.status_code)


def test_the_walk_covers_every_client_page(app):
    """A new page under /clients/<id>/ that shows data must be added to PAGES (or here, if it shows none)."""
    without_data = {"/clients/<int:client_id>/call"}  # the logged tap-to-call: a redirect to tel:
    walked = {re.sub(r"\{[a-z]+\}", "<id>", url.split("?")[0]) for url, _ in PAGES}
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if "GET" not in rule.methods or not path.startswith("/clients/<int:client_id>") or path in without_data:
            continue
        assert re.sub(r"<int:[a-z_]+>", "<id>", path) in walked, f"{path} is not walked by the privacy journey"


def test_emails_and_notifications_never_quote_a_full_number(app, privacy):
    texts = [" ".join((e.subject, e.text_body, e.html_body or ""))
             for e in db.session.execute(sa.select(OutboxEmail)).scalars()]
    texts += [n.text for n in db.session.execute(sa.select(Notification)).scalars()]
    texts += [f.title or "" for f in db.session.execute(sa.select(FollowUp)).scalars()]
    texts += [v.summary for v in db.session.execute(sa.select(VisitLog)).scalars()]
    assert texts, "the world queues emails and notifications"
    for text in texts:
        assert_no_full_numbers(app, text, privacy.secrets, "an email or notification")


def test_audit_details_never_quote_a_full_number(app, privacy):
    for event in db.session.execute(sa.select(AuditEvent)).scalars():
        assert_no_full_numbers(app, f"{event.detail} {json.dumps(event.params)}", privacy.secrets, event.action)


@pytest.mark.parametrize("username", ROLES)
@pytest.mark.parametrize(("field", "attribute"), [("mobile", "mobile"), ("id_number", "id_number")])
def test_the_reveal_shows_the_number_and_writes_an_audit_row(app, login, world, privacy, username, field,
                                                            attribute):
    client = db.session.get(Client, privacy.ids["client"])
    signed_in = login(username)
    before = db.session.execute(sa.select(sa.func.max(AuditEvent.id))).scalar_one()  # after the sign-in's row
    response = signed_in.post(f"/clients/{client.id}/reveal", data={"field": field})
    assert response.status_code == 200
    assert getattr(client, attribute) in response.get_data(as_text=True)
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.id > before)).scalar_one()
    actor = {"manager1": world.manager1, "lead": world.lead, "admin": world.admin}[username]
    assert (event.action, event.object_id, event.actor_id) == (f"reveal.{field}", client.id, actor.id)
    assert event.client_id == client.id and event.source == "web" and event.remote_addr


def test_tap_to_call_is_the_logged_way_to_dial(login, privacy):
    client_id = privacy.ids["client"]
    response = login("manager1").post(f"/clients/{client_id}/call")
    assert response.status_code == 303 and response.headers["Location"] == "tel:+8613912345678"
    event = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert (event.action, event.object_id) == ("reveal.mobile.call", client_id)


# ------------------------------------------------------------------ the edit form with masked numbers

def _edit_fields(c, client_id) -> dict:
    page = c.get(f"/clients/{client_id}/edit").get_data(as_text=True)
    return dict(re.findall(r'id="(version|loaded)" name="\1" type="hidden" value="([^"]*)"', page))


def _base(**changes) -> dict:
    data = {"name": "张三", "mobile": "", "id_number": "", "source_channel": "walk_in"}
    data.update(changes)
    return data


def test_the_edit_form_shows_the_numbers_masked_and_empty_inputs_keep_them(login, privacy):
    client_id = privacy.ids["client"]
    c = login("manager1")
    page = c.get(f"/clients/{client_id}/edit").get_data(as_text=True)
    assert 'placeholder="139****5678"' in page and "110105********" in page
    assert c.post(f"/clients/{client_id}/edit", data=_base(interests="港股通", **_edit_fields(c, client_id))
                  ).status_code == 303
    db.session.expire_all()
    client = db.session.get(Client, client_id)
    assert (client.mobile, client.interests) == ("13912345678", "港股通")
    assert client.id_number == id_number(date(1970, 9, 22), "123")


def test_a_new_number_typed_on_the_edit_form_replaces_the_one_on_file(login, privacy):
    client_id = privacy.ids["client"]
    c = login("manager1")
    assert c.post(f"/clients/{client_id}/edit", data=_base(mobile="+86 135-0000-1111", **_edit_fields(c, client_id))
                  ).status_code == 303
    db.session.expire_all()
    assert db.session.get(Client, client_id).mobile == "13500001111"


def test_the_id_number_can_be_removed_on_purpose(login, privacy):
    client_id = privacy.ids["client"]
    c = login("manager1")
    c.post(f"/clients/{client_id}/edit", data=_base(remove_id_number="y", **_edit_fields(c, client_id)))
    db.session.expire_all()
    assert db.session.get(Client, client_id).id_number is None


def test_a_number_changed_by_someone_else_is_kept_when_this_form_leaves_it_empty(login, privacy):
    client_id = privacy.ids["client"]
    first, second = login("manager1"), login("lead")
    form1, form2 = _edit_fields(first, client_id), _edit_fields(second, client_id)
    assert first.post(f"/clients/{client_id}/edit", data=_base(mobile="13500002222", **form1)).status_code == 303
    response = second.post(f"/clients/{client_id}/edit", data=_base(gender="female", **form2))
    assert response.status_code == 303
    db.session.expire_all()
    client = db.session.get(Client, client_id)
    assert (client.mobile, client.gender) == ("13500002222", "female")


def test_both_changing_the_number_is_a_conflict_shown_masked_that_keeps_what_was_typed(app, login, privacy):
    client_id = privacy.ids["client"]
    first, second = login("manager1"), login("lead")
    form1, form2 = _edit_fields(first, client_id), _edit_fields(second, client_id)
    assert first.post(f"/clients/{client_id}/edit", data=_base(mobile="13500002222", **form1)).status_code == 303
    response = second.post(f"/clients/{client_id}/edit", data=_base(mobile="13600003333", **form2))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "135****2222" in page and "136****3333" in page
    assert 'value="13600003333"' in page  # what the lead typed is still in the input
    assert_no_full_numbers(app, page.replace('value="13600003333"', ""), ["13500002222"], "the conflict")
    refreshed = dict(re.findall(r'id="(version|loaded)" name="\1" type="hidden" value="([^"]*)"', page))
    assert second.post(f"/clients/{client_id}/edit", data=_base(mobile="13600003333", **refreshed)).status_code == 303
    db.session.expire_all()
    assert db.session.get(Client, client_id).mobile == "13600003333"


def test_the_edit_form_still_detects_a_mobile_taken_by_another_client(login, privacy):
    client_id = privacy.ids["client"]
    c = login("manager1")
    response = c.post(f"/clients/{client_id}/edit", data=_base(mobile="15011112222", **_edit_fields(c, client_id)))
    assert response.status_code == 422
    assert "王五" not in response.get_data(as_text=True)


def test_a_client_without_an_id_number_gets_one_through_the_edit_form(login, world):
    client = make_client(world.manager1, name="赵六")
    db.session.commit()
    c = login("manager1")
    wanted = id_number(date(1949, 12, 31), "002")
    assert c.post(f"/clients/{client.id}/edit", data=_base(name="赵六", id_number=wanted,
                                                          **_edit_fields(c, client.id))).status_code == 303
    db.session.expire_all()
    assert db.session.get(Client, client.id).id_number == wanted


# ------------------------------------------------------------------ the complaint form

def test_the_complaint_form_is_prefilled_masked(login, privacy):
    page = login("manager1").get(f"/complaints/new?client={privacy.ids['client']}").get_data(as_text=True)
    assert 'value="139****5678"' in page and "13912345678" not in page


def test_another_contact_typed_on_the_complaint_form_is_kept_as_typed(login, world, privacy):
    c = login("manager1")
    client_id = privacy.ids["client"]
    response = c.post(f"/complaints/new?client={client_id}", data={
        "token": "t-other", "complainant_name": "张三之子", "complainant_contact": "010-88886666",
        "channel": "letter", "category": "other", "severity": "normal", "facts": "代为投诉"})
    assert response.status_code == 303
    complaint = db.session.execute(sa.select(Complaint).where(Complaint.complainant_name == "张三之子")).scalar_one()
    assert complaint.complainant_contact == "010-88886666"
    assert client_service.find_by_mobile("13912345678").id == client_id
