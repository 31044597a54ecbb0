"""Referral attribution: a referrer chosen by search (client or partner), the no-JS choice, what each
referrer brought and how many opened an account, legacy free text, and visibility of it all."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.domain.pinyin import name_initials, name_pinyin
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import Client, Partner, Stage, utcnow
from crm.services import clients as client_service
from crm.services import referrals
from tests.factories import make_client


def make_partner(owner, name: str = "李柜员", role: str = "teller", mobile: str | None = "13700001111") -> Partner:
    partner = Partner(name=name, name_initials=name_initials(name), name_pinyin=name_pinyin(name), role=role,
                      organisation="工商银行 朝阳支行", mobile=mobile, mobile_reversed=mobile[::-1] if mobile else None,
                      owner_id=owner.id, created_by_id=owner.id)
    db.session.add(partner)
    db.session.flush()
    return partner


def capture(c, token: str = "t1", **fields):
    data = {"name": "张三丰", "mobile": "13912345678", "source_channel": "walk_in", "token": token}
    data.update(fields)
    return c.post("/clients/new", data=data)


def prospect(name: str) -> Client:
    db.session.expire_all()
    return db.session.execute(sa.select(Client).where(Client.name == name)).scalar_one()


# ---------------------------------------------------------------- the service


def test_search_finds_partners_and_clients_by_pinyin_initials_with_masked_mobiles(app, world):
    make_partner(world.manager1, "李柜员")
    make_client(world.manager1, name="李四", mobile="13811112222")
    make_client(world.manager2, name="李五")  # a team-mate's client: not manager1's to choose
    found = referrals.search(world.manager1, "l")
    assert [(m.kind, m.name) for m in found] == [("partner", "李柜员"), ("client", "李四")]
    assert found[1].masked_mobile == "138****2222"
    assert [m.name for m in referrals.search(world.manager1, "2222")] == ["李四"]
    assert len(referrals.search(world.lead, "l")) == 3  # the lead sees the team's


def test_search_shows_at_most_eight(app, world):
    for n in range(10):
        make_client(world.manager1, name=f"王{n}号")
    assert len(referrals.search(world.manager1, "w")) == 8


def test_an_unseen_referrer_is_refused_exactly_like_an_unknown_one(app, world):
    others = make_partner(world.other_manager, "周柜员")
    codes = []
    for value in (f"partner:{others.id}", "partner:999999", "client:999999", "nonsense", "client:-1"):
        with pytest.raises(RuleError) as refused:
            referrals.resolve(world.manager1, value)
        codes.append((refused.value.code, refused.value.field))
    assert set(codes) == {("referrals.unknown", "referrer")}


def test_brought_counts_three_one_opened_with_its_date(app, world):
    teller = make_partner(world.manager1)
    brought = [make_client(world.manager1, name=f"客户{n}", referrer_partner_id=teller.id) for n in range(3)]
    opened_at = utcnow() - timedelta(days=2)
    client_service.change_stage(brought[0], world.manager1, Stage.ACCOUNT_OPENED, at=opened_at)
    result = referrals.brought_by_partner(teller, world.manager1)
    assert (result.brought, result.opened) == (3, 1)
    assert result.last_opened_at == opened_at
    assert {c.name for c in result.clients} == {"客户0", "客户1", "客户2"}


def test_counts_cover_only_the_prospects_the_viewer_may_see(app, world):
    referrer = make_client(world.manager1, name="老客户")
    make_client(world.manager1, name="甲", referrer_client_id=referrer.id)
    make_client(world.manager2, name="乙", referrer_client_id=referrer.id)
    make_client(world.other_manager, name="丙", referrer_client_id=referrer.id)
    assert referrals.brought_by_client(referrer, world.manager1).brought == 1
    assert referrals.brought_by_client(referrer, world.manager2).brought == 1
    assert referrals.brought_by_client(referrer, world.lead).brought == 2
    assert referrals.brought_by_client(referrer, world.other_lead).brought == 1
    assert referrals.brought_by_client(referrer, world.admin).brought == 3


@pytest.mark.parametrize(("role", "channel"), [("teller", "bank_staff"), ("lobby_manager", "bank_staff"),
                                               ("branch_manager", "bank_staff"),
                                               ("corporate_finance", "corporate_finance"), ("other", "other")])
def test_a_partner_referrer_sets_the_channel_left_at_walk_in(app, world, role, channel):
    partner = make_partner(world.manager1, role=role)
    assert make_client(world.manager1, referrer_partner_id=partner.id).source_channel == channel


def test_a_client_referrer_makes_it_a_referral_but_a_chosen_channel_stays(app, world):
    referrer = make_client(world.manager1, name="老客户")
    assert make_client(world.manager1, referrer_client_id=referrer.id).source_channel == "referral"
    assert make_client(world.manager1, referrer_client_id=referrer.id,
                       source_channel="seminar").source_channel == "seminar"


# ---------------------------------------------------------------- capture and the client file


def test_capture_with_a_chosen_partner_attributes_it_and_shows_it_on_the_file(login, world):
    teller = make_partner(world.manager1)
    db.session.commit()
    c = login("manager1")
    response = capture(c, referrer=f"partner:{teller.id}")
    assert response.status_code == 303
    client = prospect("张三丰")
    assert (client.referrer_partner_id, client.referrer_client_id, client.source_channel) == (
        teller.id, None, "bank_staff")
    page = c.get(f"/clients/{client.id}").get_data(as_text=True)
    assert "李柜员" in page


def test_capture_with_a_chosen_client_shows_the_prospect_on_the_referrers_file(login, world):
    referrer = make_client(world.manager1, name="老客户")
    db.session.commit()
    c = login("manager1")
    assert capture(c, referrer=f"client:{referrer.id}").status_code == 303
    client = prospect("张三丰")
    assert client.referrer_client_id == referrer.id
    assert f'href="/clients/{referrer.id}"' in c.get(f"/clients/{client.id}").get_data(as_text=True)
    page = c.get(f"/clients/{referrer.id}").get_data(as_text=True)
    assert 'id="brought"' in page and "张三丰" in page


def test_search_text_without_a_choice_offers_radio_buttons_and_takes_none(login, world):
    make_partner(world.manager1, "李柜员")
    make_partner(world.manager1, "林柜员", mobile="13700002222")
    db.session.commit()
    c = login("manager1")
    response = capture(c, referrer_search="l")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert len(re.findall(r'type="radio" name="referrer" value="partner:\d+"', page)) == 2
    assert db.session.query(Client).count() == 0
    # Even a single match is offered, not taken.
    response = capture(c, referrer_search="lin")
    assert response.status_code == 422
    assert len(re.findall(r'type="radio" name="referrer" value="partner:\d+"', response.get_data(as_text=True))) == 1


def test_search_text_matching_nobody_says_to_add_the_partner_first(login, world):
    response = capture(login("manager1"), referrer_search="zzz")
    assert response.status_code == 422
    assert "请先添加该渠道伙伴" in response.get_data(as_text=True)


def test_posting_an_unseen_referrer_is_the_same_answer_as_an_unknown_one(login, world):
    others = make_partner(world.other_manager, "周柜员")
    db.session.commit()
    c = login("manager1")
    unseen = capture(c, token="a", referrer=f"partner:{others.id}")
    unknown = capture(c, token="b", referrer="partner:987654")
    assert unseen.status_code == unknown.status_code == 422
    strip = re.compile(r'name="(token|csrf_token)"[^>]*|value="partner:\d+"|周柜员')
    assert strip.sub("", unseen.get_data(as_text=True)) == strip.sub("", unknown.get_data(as_text=True))
    assert "周柜员" not in unseen.get_data(as_text=True)


def test_a_double_submit_with_a_referrer_makes_one_prospect(login, world):
    teller = make_partner(world.manager1)
    db.session.commit()
    c = login("manager1")
    first = capture(c, token="same", referrer=f"partner:{teller.id}")
    second = capture(c, token="same", referrer=f"partner:{teller.id}")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.query(Client).count() == 1


def test_legacy_free_text_stays_readable_on_the_file_and_the_edit_form(login, world):
    client = make_client(world.manager1, name="老张")
    client.referrer = "柜台小王介绍"
    db.session.commit()
    c = login("manager1")
    assert "柜台小王介绍" in c.get(f"/clients/{client.id}").get_data(as_text=True)
    edit = c.get(f"/clients/{client.id}/edit").get_data(as_text=True)
    assert "柜台小王介绍" in edit
    assert 'name="referrer" type="text"' not in edit  # no longer typed


def edit_fields(c, client_id: int) -> dict:
    page = c.get(f"/clients/{client_id}/edit").get_data(as_text=True)
    fields = dict(re.findall(r'id="(version|loaded|csrf_token)" name="\1" type="hidden" value="([^"]*)"', page))
    return fields


def test_choosing_a_referrer_on_edit_keeps_the_legacy_text(login, world):
    client = make_client(world.manager1, name="老张")
    client.referrer = "柜台小王介绍"
    teller = make_partner(world.manager1)
    db.session.commit()
    c = login("manager1")
    data = {"name": "老张", "source_channel": "walk_in", "referrer": f"partner:{teller.id}", **edit_fields(c, client.id)}
    assert c.post(f"/clients/{client.id}/edit", data=data).status_code == 303
    saved = prospect("老张")
    assert (saved.referrer_partner_id, saved.referrer, saved.source_channel) == (teller.id, "柜台小王介绍", "bank_staff")


def test_a_lead_edits_a_file_whose_referrer_they_may_not_see_and_it_is_kept(login, world):
    outsider = make_client(world.other_manager, name="外队客户")
    client = make_client(world.manager1, name="老张", referrer_client_id=outsider.id)
    db.session.commit()
    c = login("lead")
    page = c.get(f"/clients/{client.id}").get_data(as_text=True)
    assert "外队客户" not in page and "一位客户" in page, page[page.find("介绍人") - 200:page.find("介绍人") + 400]
    edit_page = c.get(f"/clients/{client.id}/edit").get_data(as_text=True)
    assert "外队客户" not in edit_page
    data = {"name": "老张", "source_channel": "referral", "referrer": f"client:{outsider.id}",
            "interests": "港股通", **edit_fields(c, client.id)}
    assert c.post(f"/clients/{client.id}/edit", data=data).status_code == 303
    saved = prospect("老张")
    assert (saved.referrer_client_id, saved.interests) == (outsider.id, "港股通")


def test_a_client_cannot_refer_itself(login, world):
    client = make_client(world.manager1, name="老张")
    db.session.commit()
    c = login("manager1")
    data = {"name": "老张", "source_channel": "walk_in", "referrer": f"client:{client.id}", **edit_fields(c, client.id)}
    assert c.post(f"/clients/{client.id}/edit", data=data).status_code == 422


# ---------------------------------------------------------------- the chooser's fragments


def test_the_live_search_answers_a_fragment_of_radio_choices(login, world):
    make_partner(world.manager1, "李柜员")
    db.session.commit()
    response = login("manager1").get("/referrers?referrer_search=lgy",
                                      headers={"HX-Request": "true", "HX-Target": "referrer_matches"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in page
    assert 'name="referrer" value="partner:' in page and "137****1111" in page


def test_choosing_answers_the_chip_and_an_unseen_one_is_a_404(login, world):
    mine, others = make_partner(world.manager1), make_partner(world.other_manager, "周柜员")
    db.session.commit()
    c = login("manager1")
    chip = c.get(f"/referrers/choose?ref=partner:{mine.id}",
                 headers={"HX-Request": "true", "HX-Target": "referrer_chooser"}).get_data(as_text=True)
    assert f'value="partner:{mine.id}" checked' in chip and "李柜员" in chip
    assert c.get(f"/referrers/choose?ref=partner:{others.id}").status_code == 404
    assert c.get("/referrers/choose?ref=partner:99999").status_code == 404


chooser_values = st.one_of(st.text(max_size=60), st.sampled_from(
    ["client:1", "partner:1", "client:", "partner:99999999999999999999", "client:-1", "x:1", "\x00", "l", "13"]))


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.fixed_dictionaries({}, optional={k: chooser_values for k in ("referrer", "referrer_search", "name",
                                                                            "mobile", "token")}))
def test_chooser_fields_never_give_a_server_error(login, world, data):
    c = login("manager1")
    assert c.post("/clients/new", data=data).status_code in (303, 409, 422)
    assert c.get("/referrers", query_string={"q": data.get("referrer_search", "")}).status_code == 200
    assert c.get("/referrers/choose", query_string={"ref": data.get("referrer", "")}).status_code in (200, 404)


def test_the_partners_page_lists_what_they_brought_per_viewer(login, world):
    teller = make_partner(world.manager1)
    opened = make_client(world.manager1, name="已开户", referrer_partner_id=teller.id)
    client_service.change_stage(opened, world.manager1, Stage.ACCOUNT_OPENED)
    make_client(world.manager1, name="甲", referrer_partner_id=teller.id)
    make_client(world.manager2, name="乙", referrer_partner_id=teller.id)
    db.session.commit()
    own = login("manager1").get(f"/partners/{teller.id}").get_data(as_text=True)
    assert 'id="brought"' in own and "已开户" in own and "甲" in own and "乙" not in own
    assert "共介绍 2 位，其中 1 位已开户。" in own
    lead = login("lead").get(f"/partners/{teller.id}").get_data(as_text=True)
    assert "共介绍 3 位，其中 1 位已开户。" in lead
    assert login("manager2").get(f"/partners/{teller.id}").status_code == 404
