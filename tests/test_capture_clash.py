"""撞单 without an oracle: what each person is told about a number on file, the audit trail, the hourly limit."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm import create_app
from crm.extensions import db
from crm.models import AuditEvent, Client, User
from crm.services import capture_clash, settings
from tests.conftest import PASSWORD, RequestIsolatingClient

MOBILE = "13900000004"
MASKED = "139****0004"
SAVED = "该手机号已有客户档案，已为您打开。"
SAME_TEAM = "该手机号属于王经理的客户，如需改派请联系团队长。"
ELSEWHERE = "该手机号已有登记。如该客户应由您跟进，可联系团队长或合规处理。"
REFUSED = "近一小时内录入的已登记号码过多，请稍后再试或联系团队长。"
# What must never reach someone outside the owner's team: the owner, the owner's team, the client.
SECRETS = ("王经理", "一部", "赵六", "港股通")


@pytest.fixture
def on_file(login, world) -> Client:
    """manager1 (王经理, team 一部) owns 赵六 with MOBILE."""
    login("manager1").post("/clients/new", data={
        "name": "赵六", "mobile": MOBILE, "token": "first", "source_channel": "walk_in", "interests": "港股通"})
    return db.session.execute(sa.select(Client)).scalar_one()


def capture(c, mobile: str = MOBILE, token: str = "again", name: str = "另一个名字"):
    return c.post("/clients/new", data={"name": name, "mobile": mobile, "token": token,
                                        "source_channel": "walk_in", "interests": "柜台转介"})


def clash_rows() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "client.capture_clash")
                                   .order_by(AuditEvent.id)).scalars())


# ---------------------------------------------------------------- the rule, without a request

@pytest.mark.parametrize(("can_see", "same_team", "recent", "names_owner", "expected"), [
    (True, True, 0, True, "visible"),
    (True, False, 99, True, "visible"),     # one's own client never counts and is never refused
    (False, True, 0, True, "team"),
    (False, True, 0, False, "elsewhere"),   # the edit form names nobody
    (False, False, 0, True, "elsewhere"),
    (False, False, 9, True, "elsewhere"),
    (False, False, 10, True, "refused"),
    (False, True, 10, True, "refused"),
])
def test_the_answer_depends_on_what_the_person_may_see_and_how_often_they_clashed(
        can_see, same_team, recent, names_owner, expected):
    assert capture_clash.decide(can_see=can_see, same_team=same_team, recent=recent, limit=10,
                                names_owner=names_owner) == expected


# ---------------------------------------------------------------- per role: the exact words

def test_own_number_opens_the_client(login, world, on_file):
    c = login("manager1")
    response = capture(c)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/clients/{on_file.id}")
    assert SAVED in c.get(response.headers["Location"]).get_data(as_text=True)


def test_a_team_mates_number_names_the_owner_only(login, world, on_file):
    response = capture(login("manager2"))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert SAME_TEAM in page
    assert "赵六" not in page and "港股通" not in page


@pytest.mark.parametrize("username", ["othermanager", "otherlead"])
def test_another_teams_number_says_only_that_it_is_on_file(login, world, on_file, username):
    response = capture(login(username))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert ELSEWHERE in page
    for secret in SECRETS:
        assert secret not in page, secret
    assert 'value="另一个名字"' in page and "柜台转介</textarea>" in page  # the form keeps the input


def test_another_teams_number_in_english(login, world, on_file):
    c = login("othermanager")
    c.post("/settings", data={"locale": "en"})
    page = capture(c).get_data(as_text=True)
    assert ("This mobile number is already on file. If the client should be yours, "
            "a team lead or compliance can help.") in page
    assert "王经理" not in page and "another team" not in page


@pytest.mark.parametrize("username", ["lead", "admin"])
def test_the_owners_lead_and_compliance_are_taken_to_the_client(login, world, on_file, username):
    response = capture(login(username))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/clients/{on_file.id}")


def test_an_assignee_is_taken_to_the_client_they_work_on(login, world, on_file):
    from crm.models import utcnow
    from crm.services import followups

    followups.create(on_file, world.other_manager, utcnow() + timedelta(days=1), "call", title="回访")
    db.session.commit()
    response = capture(login("othermanager"))
    assert response.status_code == 303


def test_changing_a_client_file_to_a_number_on_file_names_nobody(login, world, on_file):
    c = login("othermanager")
    capture(c, mobile="13900000099", token="mine", name="钱的客户")
    mine = db.session.execute(sa.select(Client).where(Client.name == "钱的客户")).scalar_one()
    form = c.get(f"/clients/{mine.id}/edit").get_data(as_text=True)
    fields = dict(re.findall(r'name="(version|loaded)"[^>]*value="([^"]*)"', form))
    response = c.post(f"/clients/{mine.id}/edit", data={
        "name": "钱的客户", "mobile": MOBILE, "source_channel": "walk_in", **fields})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "该手机号已登记在其他客户档案中。" in page
    for secret in SECRETS:
        assert secret not in page, secret
    (row,) = clash_rows()
    assert (row.actor_id, row.client_id, row.params) == (
        world.other_manager.id, on_file.id, {"mobile": MASKED, "form": "edit", "answer": "elsewhere"})


# ---------------------------------------------------------------- the audit trail

def test_every_clash_is_audited_with_the_number_masked(login, world, on_file):
    capture(login("manager1"), token="t1")
    capture(login("manager2"), token="t2")
    capture(login("othermanager"), token="t3")
    rows = clash_rows()
    assert [(r.actor_id, r.client_id, r.object_type, r.object_id, r.params["answer"]) for r in rows] == [
        (world.manager1.id, on_file.id, "client", on_file.id, "visible"),
        (world.manager2.id, on_file.id, "client", on_file.id, "team"),
        (world.other_manager.id, on_file.id, "client", on_file.id, "elsewhere"),
    ]
    for row in rows:
        assert row.params["mobile"] == MASKED and row.params["form"] == "capture"
        assert MOBILE not in str(row.params) and MOBILE not in row.detail
    page = login("admin").get("/admin/audit?action=client.capture_clash").get_data(as_text=True)
    assert "录入已登记的手机号（撞单）" in page
    assert f"{MASKED}（新增潜在客户）：仅告知号码已登记" in page
    assert MOBILE not in page


# ---------------------------------------------------------------- the hourly limit

def _numbers_on_file(owner, count: int) -> list[str]:
    from tests.factories import make_client

    numbers = [make_client(owner, name=f"客户{i}").mobile for i in range(count)]
    db.session.commit()
    return numbers


def test_too_many_clashes_in_an_hour_are_refused_and_audited(login, world, on_file):
    settings.set_int("capture_clash_per_hour", 3, world.admin)
    numbers = _numbers_on_file(world.manager1, 4)
    c = login("othermanager")
    for i, number in enumerate(numbers[:3]):
        assert ELSEWHERE in capture(c, mobile=number, token=f"p{i}").get_data(as_text=True)
    response = capture(c, mobile=numbers[3], token="p3")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert REFUSED in page and ELSEWHERE not in page
    assert 'value="另一个名字"' in page and "柜台转介</textarea>" in page
    for secret in SECRETS:
        assert secret not in page, secret
    assert [r.params["answer"] for r in clash_rows()] == ["elsewhere"] * 3 + ["refused"]
    # A number not on file is still captured, and the refusal is one person's only.
    assert capture(c, mobile="13900000088", token="new").status_code == 303
    assert ELSEWHERE in capture(login("otherlead"), token="lead").get_data(as_text=True)


def test_a_refused_person_still_opens_their_own_clients(login, world, on_file):
    settings.set_int("capture_clash_per_hour", 1, world.admin)
    db.session.commit()
    c = login("othermanager")
    capture(c, token="a")
    capture(c, mobile="13900000077", token="own", name="钱的客户")
    assert REFUSED in capture(c, token="b").get_data(as_text=True)
    assert capture(c, mobile="13900000077", token="c").status_code == 303


def test_clashes_older_than_an_hour_no_longer_count(login, world, on_file):
    settings.set_int("capture_clash_per_hour", 2, world.admin)
    db.session.commit()
    c = login("othermanager")
    capture(c, token="a")
    capture(c, token="b")
    assert REFUSED in capture(c, token="c").get_data(as_text=True)
    for row in clash_rows():
        row.at -= timedelta(minutes=61)
    db.session.commit()
    assert ELSEWHERE in capture(c, token="d").get_data(as_text=True)


def test_the_limit_is_shared_by_every_process_through_the_database(app_config, login, world, on_file):
    """Two apps on one database (as two web workers): clashes made on one count on the other."""
    settings.set_int("capture_clash_per_hour", 2, world.admin)
    db.session.commit()
    first = login("othermanager")
    capture(first, token="a")
    capture(first, token="b")
    other = create_app(dict(app_config))
    other.test_client_class = RequestIsolatingClient
    with other.app_context():
        second = other.test_client()
        assert second.post("/login", data={"username": "othermanager", "password": PASSWORD}).status_code == 303
        page = capture(second, token="c").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
    assert REFUSED in page
    assert [r.params["answer"] for r in clash_rows()] == ["elsewhere", "elsewhere", "refused"]


def test_the_limit_is_a_setting_on_the_rules_page(login, world):
    page = login("admin").get("/admin/settings").get_data(as_text=True)
    assert "每人每小时可录入的已登记号码数（他人名下客户）" in page
    assert settings.get_int("capture_clash_per_hour") == 10
    assert db.session.get(User, world.admin.id) is not None
