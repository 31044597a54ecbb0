"""The client file: masked numbers, logged reveals, stage history and edits that never overwrite."""
from __future__ import annotations

import pytest

from crm.extensions import db
from crm.models import AuditEvent, Client, StageChange
from tests.factories import make_client, make_visit


@pytest.fixture
def zhang(world):
    client = make_client(world.manager1, name="张三", mobile="13812341234", interests="基金定投")
    db.session.commit()
    return client


def edit_form(c, client_id):
    """The hidden fields of the edit form as the page delivered them."""
    import re

    page = c.get(f"/clients/{client_id}/edit").get_data(as_text=True)
    fields = dict(re.findall(r'id="(version|loaded)" name="\1" type="hidden" value="([^"]*)"', page))
    assert set(fields) == {"version", "loaded"}, page
    return fields


def base_data(**changes):
    data = {"name": "张三", "mobile": "13812341234", "source_channel": "walk_in", "interests": "基金定投"}
    data.update(changes)
    return data


def test_file_shows_the_masked_mobile_and_never_the_full_number(login, zhang):
    page = login("manager1").get(f"/clients/{zhang.id}").get_data(as_text=True)
    assert "138****1234" in page
    assert "13812341234" not in page


def test_revealing_the_mobile_shows_it_and_is_logged(login, world, zhang):
    c = login("manager1")
    response = c.post(f"/clients/{zhang.id}/reveal", data={"field": "mobile"})
    assert "13812341234" in response.get_data(as_text=True)
    event = db.session.query(AuditEvent).filter(AuditEvent.action != "auth.sign_in").one()
    assert (event.action, event.object_id, event.actor_id) == ("reveal.mobile", zhang.id, world.manager1.id)


def test_reveal_for_htmx_returns_only_the_fragment(login, zhang):
    response = login("manager1").post(f"/clients/{zhang.id}/reveal", data={"field": "mobile"},
                                      headers={"HX-Request": "true", "HX-Target": "revealed_mobile"})
    body = response.get_data(as_text=True)
    assert "13812341234" in body and "<html" not in body


def test_tap_to_call_logs_and_hands_the_number_to_the_dialer(login, zhang):
    response = login("manager1").post(f"/clients/{zhang.id}/call")
    assert response.status_code == 303
    assert response.headers["Location"] == "tel:+8613812341234"
    assert db.session.query(AuditEvent).filter(AuditEvent.action.like("reveal%")).one().action == "reveal.mobile.call"


def test_id_number_is_validated_and_shown_masked(login, zhang):
    c = login("manager1")
    hidden = edit_form(c, zhang.id)
    bad = c.post(f"/clients/{zhang.id}/edit", data=base_data(id_number="110105199003071235", **hidden))
    assert bad.status_code == 422
    good = c.post(f"/clients/{zhang.id}/edit", data=base_data(id_number="11010519491231002x", **hidden))
    assert good.status_code == 303
    page = c.get(f"/clients/{zhang.id}").get_data(as_text=True)
    assert "110105********002X" in page and "11010519491231002X" not in page


def test_second_save_on_the_same_field_is_told_what_changed(login, zhang):
    first, second = login("manager1"), login("lead")
    form1, form2 = edit_form(first, zhang.id), edit_form(second, zhang.id)
    assert first.post(f"/clients/{zhang.id}/edit", data=base_data(interests="港股通", **form1)).status_code == 303
    response = second.post(f"/clients/{zhang.id}/edit", data=base_data(interests="两融", **form2))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "港股通" in page and "两融" in page and "王经理" in page
    db.session.expire_all()
    assert db.session.get(Client, zhang.id).interests == "港股通"  # not silently overwritten


def test_after_a_conflict_saving_again_keeps_the_second_version(login, zhang):
    import re

    first, second = login("manager1"), login("lead")
    form1, form2 = edit_form(first, zhang.id), edit_form(second, zhang.id)
    first.post(f"/clients/{zhang.id}/edit", data=base_data(interests="港股通", **form1))
    page = second.post(f"/clients/{zhang.id}/edit", data=base_data(interests="两融", **form2)).get_data(as_text=True)
    refreshed = dict(re.findall(r'id="(version|loaded)" name="\1" type="hidden" value="([^"]*)"', page))
    assert second.post(f"/clients/{zhang.id}/edit", data=base_data(interests="两融", **refreshed)).status_code == 303
    db.session.expire_all()
    assert db.session.get(Client, zhang.id).interests == "两融"


def test_edits_to_different_fields_are_merged_and_both_kept(login, zhang):
    first, second = login("manager1"), login("lead")
    form1, form2 = edit_form(first, zhang.id), edit_form(second, zhang.id)
    first.post(f"/clients/{zhang.id}/edit", data=base_data(interests="港股通", **form1))
    response = second.post(f"/clients/{zhang.id}/edit", data=base_data(gender="female", **form2))
    assert response.status_code == 303
    db.session.expire_all()
    client = db.session.get(Client, zhang.id)
    assert (client.interests, client.gender) == ("港股通", "female")


def test_editing_the_mobile_to_another_clients_number_is_refused(login, world, zhang):
    make_client(world.manager2, name="李四", mobile="13900009999")
    db.session.commit()
    c = login("manager1")
    response = c.post(f"/clients/{zhang.id}/edit", data=base_data(mobile="13900009999", **edit_form(c, zhang.id)))
    assert response.status_code == 422
    assert "李四" not in response.get_data(as_text=True)


def test_tampered_edit_form_is_a_clear_400_not_a_500(login, zhang):
    response = login("manager1").post(f"/clients/{zhang.id}/edit",
                                      data=base_data(version="x", loaded="forged"))
    assert response.status_code == 400


def test_stage_change_is_kept_with_who_and_when(login, world, zhang):
    login("manager1").post(f"/clients/{zhang.id}/stage", data={"stage": "account_opened", "note": "已开户"})
    change = db.session.query(StageChange).filter_by(client_id=zhang.id, to_stage="account_opened").one()
    assert change.from_stage == "prospect" and change.changed_by_id == world.manager1.id
    db.session.expire_all()
    assert db.session.get(Client, zhang.id).account_opened_at is not None


def test_timeline_lists_visits_and_stage_changes_newest_first(login, world, zhang):
    from datetime import timedelta

    from crm.models import utcnow

    make_visit(zhang, world.manager1, summary="较早的拜访", occurred_at=utcnow() - timedelta(days=3))
    make_visit(zhang, world.manager1, summary="最近的拜访", occurred_at=utcnow() - timedelta(hours=1))
    db.session.commit()
    page = login("manager1").get(f"/clients/{zhang.id}").get_data(as_text=True)
    assert page.index("最近的拜访") < page.index("较早的拜访")
