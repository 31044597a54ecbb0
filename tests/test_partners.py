"""Channel partners (渠道伙伴): the service rules, who sees a partner, masking, reveal, conflicts, double taps,
who is due a contact, search."""
from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import AuditEvent, Partner, PartnerContact, User, utcnow
from crm.services import partners
from crm.services import settings as run_settings
from tests.conftest import PG_URL

MOBILE = "13700001111"


def _add(owner, name="李柜员", mobile=MOBILE, **extra) -> Partner:
    data = {"name": name, "role": "teller", "mobile": mobile, **extra}
    partner = partners.add_partner(owner, data)
    db.session.commit()
    return partner


def _audits(action: str) -> list[AuditEvent]:
    return list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)).scalars())


# ------------------------------------------------------------------ service rules


def test_a_new_partner_keeps_pinyin_keys_reversed_mobile_and_the_default_cadence(app, world):
    partner = _add(world.manager1, name="张三", organisation="工商银行 朝阳支行")
    assert (partner.owner_id, partner.name_initials, partner.name_pinyin) == (world.manager1.id, "zs", "zhangsan")
    assert partner.mobile_reversed == MOBILE[::-1]
    assert partner.cadence_days == run_settings.get_int("partner_cadence_days") == 30
    assert [e.params["partner_role"] for e in _audits("partner.create")] == ["teller"]


def test_a_partner_without_mobile_is_fine_and_two_of_them_do_not_clash(app, world):
    first, second = _add(world.manager1, mobile=None), _add(world.manager1, name="王大堂", mobile=None)
    assert first.mobile is None and first.mobile_reversed is None and second.id != first.id


def test_the_same_mobile_twice_for_one_owner_is_refused_on_the_field(app, world):
    _add(world.manager1)
    with pytest.raises(RuleError) as refused:
        partners.add_partner(world.manager1, {"name": "另一个", "role": "teller", "mobile": MOBILE})
    assert refused.value.fields() == {"mobile": "partners.mobile_taken"}


def test_another_manager_may_know_the_same_teller(app, world):
    _add(world.manager1)
    assert _add(world.manager2).owner_id == world.manager2.id


def test_consent_sets_its_time_when_it_becomes_true_and_clears_when_withdrawn(app, world):
    partner = _add(world.manager1)
    assert partner.consent_at is None
    partners.edit_partner(partner, world.manager1, {"consent_contact": True}, partner.version)
    db.session.commit()
    assert partner.consent_at is not None
    partners.edit_partner(partner, world.manager1, {"consent_contact": False}, partner.version)
    assert partner.consent_at is None


def test_an_edit_changes_name_keys_and_mobile_and_is_audited_with_the_fields(app, world):
    partner = _add(world.manager1)
    changed = partners.edit_partner(partner, world.manager1, {"name": "王五", "mobile": "13900002222",
                                                              "role": "teller"}, partner.version)
    db.session.commit()
    assert changed == ["name", "mobile"]
    assert (partner.name_initials, partner.mobile_reversed) == ("ww", "22220000931")
    assert _audits("partner.edit")[0].params == {"partner_fields": ["name", "mobile"]}


def test_an_edit_changing_nothing_writes_nothing(app, world):
    partner = _add(world.manager1)
    version = partner.version
    assert partners.edit_partner(partner, world.manager1, {"name": "李柜员"}, version) == []
    db.session.commit()
    assert partner.version == version and not _audits("partner.edit")


def test_an_edit_from_a_stale_version_is_refused_with_the_current_values(app, world):
    partner = _add(world.manager1)
    loaded = partner.version
    partners.edit_partner(partner, world.lead, {"organisation": "建设银行"}, loaded)
    db.session.commit()
    with pytest.raises(partners.EditConflict) as conflict:
        partners.edit_partner(partner, world.manager1, {"organisation": "招商银行"}, loaded)
    assert conflict.value.code == "partners.edited_meanwhile"
    assert conflict.value.current_values["organisation"] == "建设银行"
    assert conflict.value.updated_by == world.lead.display_name


def test_a_contact_moves_last_contact_to_the_latest_and_leaves_the_version(app, world):
    partner = _add(world.manager1)
    version, now = partner.version, utcnow()
    partners.log_contact(partner, world.manager1, {"occurred_at": now, "channel": "outlet", "summary": "聊天"})
    partners.log_contact(partner, world.manager1, {"occurred_at": now - timedelta(days=3), "channel": "phone",
                                                   "summary": "补记"})
    db.session.commit()
    db.session.refresh(partner)
    assert partner.last_contact_at == now and partner.version == version
    assert [c.summary for c in partners.contacts(partner)] == ["聊天", "补记"]
    assert len(_audits("partner.contact")) == 2


def test_a_contact_more_than_five_minutes_ahead_is_refused_a_few_minutes_are_skew(app, world):
    partner = _add(world.manager1)
    partners.log_contact(partner, world.manager1, {"occurred_at": utcnow() + timedelta(minutes=4),
                                                   "channel": "outlet", "summary": "时钟偏差"})
    with pytest.raises(RuleError) as refused:
        partners.log_contact(partner, world.manager1, {"occurred_at": utcnow() + timedelta(minutes=6),
                                                       "channel": "outlet", "summary": "未来"})
    assert refused.value.fields() == {"occurred_at": "partners.contact_in_future"}


# ------------------------------------------------------------------ due for contact


def test_due_for_contact_counts_from_the_last_contact_or_the_day_added_exactly_at_cadence_is_due(app, world):
    now = utcnow()
    never = _add(world.manager1, name="从未联系", mobile=None)
    never.created_at = now - timedelta(days=30)  # exactly at the cadence
    recent = _add(world.manager1, name="刚联系", mobile=None)
    recent.created_at, recent.last_contact_at = now - timedelta(days=90), now - timedelta(days=29, hours=23)
    old = _add(world.manager1, name="很久", mobile=None)
    old.created_at, old.last_contact_at = now - timedelta(days=90), now - timedelta(days=40)
    gone = _add(world.manager1, name="不再联系", mobile=None)
    gone.created_at, gone.active = now - timedelta(days=90), False
    theirs = _add(world.manager2, name="别人的", mobile=None)
    theirs.created_at = now - timedelta(days=90)
    db.session.commit()
    due = partners.due_for_contact(world.manager1, now)
    assert [(p.name, days) for p, days in due] == [("很久", 10), ("从未联系", 0)]
    assert [p.name for p, _ in partners.due_for_contact(world.manager1, now, limit=1)] == ["很久"]
    assert partners.due_for_contact(world.manager1, now - timedelta(seconds=1))[-1][0].name == "很久"


def test_the_due_partial_renders_each_partner_with_a_log_contact_link(app, world):
    from flask import render_template

    partner = _add(world.manager1)
    with app.test_request_context():
        html = render_template("partners/_due.html", due_partners=[(partner, 3), (partner, 0)])
    assert f"/partners/{partner.id}/contacts/new" in html and "3" in html
    assert MOBILE not in html


# ------------------------------------------------------------------ search


def test_search_by_pinyin_initials_full_pinyin_name_part_and_last_digits(app, world):
    zhang = _add(world.manager1, name="张三", mobile="13711112345")
    _add(world.manager1, name="李四", mobile="13722226789", organisation="招商银行")
    _add(world.manager2, name="张飞", mobile=None)  # not A1's

    def names(q):
        return [p.name for p in partners.search_partners(world.manager1, q=q).partners]

    assert names("zs") == ["张三"]
    assert names("zhang") == ["张三"]
    assert names("三") == ["张三"]
    assert names("招商") == ["李四"]
    assert names("2345") == ["张三"]
    assert names("") == ["李四", "张三"]  # pinyin order: lisi, zhangsan
    assert zhang.id in {p.id for p in partners.search_partners(world.lead, q="zs").partners}


def test_search_pages_with_a_cursor_and_a_doctored_cursor_shows_the_first_page(app, world):
    for i in range(5):
        _add(world.manager1, name=f"伙伴{'abcde'[i]}", mobile=None)
    first = partners.search_partners(world.manager1, limit=2)
    second = partners.search_partners(world.manager1, cursor=first.next_cursor, limit=2)
    third = partners.search_partners(world.manager1, cursor=second.next_cursor, limit=2)
    seen = [p.id for page in (first, second, third) for p in page.partners]
    assert len(seen) == len(set(seen)) == 5 and third.next_cursor is None
    assert partners.search_partners(world.manager1, cursor="x' or 1=1", limit=2).partners == first.partners


# ------------------------------------------------------------------ pages


def _mobile_shown(html: str, mobile: str = MOBILE) -> bool:
    return mobile in html or mobile[::-1] in html


@pytest.mark.parametrize("username,status", [("manager1", 200), ("manager2", 404), ("othermanager", 404),
                                             ("lead", 200), ("otherlead", 404), ("admin", 200)])
def test_a_partner_is_seen_by_its_owner_their_lead_and_admin_only(app, world, login, username, status):
    partner = _add(world.manager1)
    c = login(username)
    for path in (f"/partners/{partner.id}", f"/partners/{partner.id}/edit", f"/partners/{partner.id}/contacts/new"):
        assert c.get(path).status_code == status
    assert c.post(f"/partners/{partner.id}/reveal").status_code == status
    listed = c.get("/partners").get_data(as_text=True)
    assert (f"/partners/{partner.id}\"" in listed) == (status == 200)


def test_every_partner_page_shows_the_mobile_masked_only(app, world, login):
    partner = _add(world.manager1)
    partners.log_contact(partner, world.manager1, {"occurred_at": utcnow(), "channel": "outlet", "summary": "s"})
    db.session.commit()
    c = login("manager1")
    for path in ("/partners", "/partners?q=1111", "/partners?q=lgy", f"/partners/{partner.id}",
                 f"/partners/{partner.id}/edit", f"/partners/{partner.id}/contacts/new"):
        html = c.get(path).get_data(as_text=True)
        assert not _mobile_shown(html), path
        assert "137****1111" in html or path.endswith("/contacts/new"), path
    html = c.get("/partners", headers={"HX-Request": "true", "HX-Target": "results"}).get_data(as_text=True)
    assert "137****1111" in html and not _mobile_shown(html) and "<nav" not in html
    # A refused edit and a conflict re-render masked too.
    bad = c.post(f"/partners/{partner.id}/edit", data={"name": "", "role": "teller", "cadence_days": "30",
                                                       "version": str(partner.version)})
    assert bad.status_code == 422 and not _mobile_shown(bad.get_data(as_text=True))
    stale = c.post(f"/partners/{partner.id}/edit", data={"name": "新名", "role": "teller", "cadence_days": "30",
                                                         "version": "999"})
    assert stale.status_code == 409 and not _mobile_shown(stale.get_data(as_text=True))


def test_reveal_shows_the_full_number_and_is_audited(app, world, login):
    partner = _add(world.manager1)
    c = login("lead")
    full = c.post(f"/partners/{partner.id}/reveal")
    assert full.status_code == 200 and MOBILE in full.get_data(as_text=True)
    fragment = c.post(f"/partners/{partner.id}/reveal",
                      headers={"HX-Request": "true", "HX-Target": "revealed_mobile"}).get_data(as_text=True)
    assert MOBILE in fragment and "<nav" not in fragment
    events = _audits("reveal.partner_mobile")
    assert [(e.actor_id, e.object_type, e.object_id) for e in events] == [(world.lead.id, "partner", partner.id)] * 2


def test_reveal_of_a_partner_without_mobile_is_a_404_and_not_audited(app, world, login):
    partner = _add(world.manager1, mobile=None)
    assert login("manager1").post(f"/partners/{partner.id}/reveal").status_code == 404
    assert not _audits("reveal.partner_mobile")


def _token(html: str) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)


def test_adding_a_partner_needs_only_name_and_role_and_a_double_tap_makes_one(app, world, login):
    c = login("manager1")
    token = _token(c.get("/partners/new").get_data(as_text=True))
    data = {"token": token, "name": "刘大堂", "role": "lobby_manager", "mobile": ""}
    first, second = c.post("/partners/new", data=data), c.post("/partners/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.execute(sa.select(sa.func.count(Partner.id))).scalar_one() == 1


def test_a_bad_new_partner_re_renders_with_field_errors(app, world, login):
    c = login("manager1")
    _add(world.manager1)
    token = _token(c.get("/partners/new").get_data(as_text=True))
    missing = c.post("/partners/new", data={"token": token, "name": "", "role": "teller", "mobile": "123"})
    assert missing.status_code == 422 and 'id="mobile-error"' in missing.get_data(as_text=True)
    taken = c.post("/partners/new", data={"token": token, "name": "某人", "role": "teller", "mobile": MOBILE})
    assert taken.status_code == 422 and 'id="mobile-error"' in taken.get_data(as_text=True)


def test_logging_a_contact_twice_with_one_token_makes_one_contact(app, world, login):
    partner = _add(world.manager1)
    c = login("manager1")
    token = _token(c.get(f"/partners/{partner.id}/contacts/new").get_data(as_text=True))
    data = {"token": token, "occurred_at": "2026-01-05T10:00", "channel": "outlet", "summary": "约了讲座"}
    assert c.post(f"/partners/{partner.id}/contacts/new", data=data).status_code == 303
    assert c.post(f"/partners/{partner.id}/contacts/new", data=data).status_code == 303
    assert db.session.execute(sa.select(sa.func.count(PartnerContact.id))).scalar_one() == 1
    assert "约了讲座" in c.get(f"/partners/{partner.id}").get_data(as_text=True)


def test_a_contact_in_the_future_is_refused_on_its_field(app, world, login):
    partner = _add(world.manager1)
    c = login("manager1")
    token = _token(c.get(f"/partners/{partner.id}/contacts/new").get_data(as_text=True))
    answer = c.post(f"/partners/{partner.id}/contacts/new",
                    data={"token": token, "occurred_at": "2099-01-05T10:00", "channel": "outlet", "summary": "x"})
    assert answer.status_code == 422 and 'id="occurred_at-error"' in answer.get_data(as_text=True)


def test_an_edit_over_a_newer_save_shows_the_current_values_and_the_next_save_goes_through(app, world, login):
    partner = _add(world.manager1)
    c = login("manager1")
    html = c.get(f"/partners/{partner.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    partners.edit_partner(partner, world.lead, {"organisation": "建设银行 望京支行"}, partner.version)
    db.session.commit()
    data = {"name": "李柜员", "role": "teller", "organisation": "招商银行", "cadence_days": "30", "active": "y",
            "version": version}
    stale = c.post(f"/partners/{partner.id}/edit", data=data)
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "建设银行 望京支行" in page
    data["version"] = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    assert c.post(f"/partners/{partner.id}/edit", data=data).status_code == 303
    db.session.refresh(partner)
    assert partner.organisation == "招商银行" and partner.mobile == MOBILE  # an empty mobile input keeps it


def test_the_nav_links_to_partners_and_marks_it_current(app, world, login):
    html = login("manager1").get("/partners").get_data(as_text=True)
    assert re.search(r'<a href="/partners" aria-current="page">', html)


def test_a_save_made_by_someone_else_after_the_page_was_loaded_in_this_request_is_still_a_conflict(app, world):
    partner = _add(world.manager1)
    loaded = partner.version
    db.session.execute(sa.update(Partner).where(Partner.id == partner.id)
                       .values(organisation="别人改的", version=Partner.version + 1)
                       .execution_options(synchronize_session=False))
    with pytest.raises(partners.EditConflict) as conflict:
        partners.edit_partner(partner, world.manager1, {"organisation": "我改的"}, loaded)
    assert conflict.value.current_values["organisation"] == "别人改的"


@pytest.mark.skipif(not PG_URL, reason="row locks: PostgreSQL")
def test_two_saves_from_the_same_version_at_once_save_one_and_refuse_the_other(app, world):
    partner_id, user_id = _add(world.manager1).id, world.manager1.id
    db.session.remove()
    locked, results = threading.Event(), {}

    def save(name: str, value: str, hold: bool) -> None:
        with app.app_context():
            partner = db.session.get(Partner, partner_id)
            actor = db.session.get(User, user_id)
            if not hold:
                locked.wait(5)
            try:
                partners.edit_partner(partner, actor, {"organisation": value}, 1)
                if hold:
                    locked.set()
                    time.sleep(0.5)  # the other save is waiting on the row meanwhile
                db.session.commit()
                results[name] = "saved"
            except partners.EditConflict:
                db.session.rollback()
                results[name] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=("first", "建设银行", True)),
               threading.Thread(target=save, args=("second", "招商银行", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {"first": "saved", "second": "conflict"}
    assert db.session.get(Partner, partner_id).organisation == "建设银行"
