"""One-time form tokens are keyed by user and form kind: reuse elsewhere is a new submission, never a 500."""
from __future__ import annotations

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Client, FollowUp, FormSubmission
from crm.services import submissions
from tests.factories import make_client

TOKEN = "one-token-for-every-form"


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def prospect(name: str, mobile: str, token: str = TOKEN) -> dict:
    return {"name": name, "mobile": mobile, "source_channel": "walk_in", "token": token}


def followup(title: str, assignee_id: int, token: str = TOKEN) -> dict:
    return {"title": title, "due_at": "2030-01-02T10:00", "kind": "call", "priority": "2",
            "assignee_id": str(assignee_id), "token": token}


def test_the_same_token_on_two_different_create_forms_creates_both_once(login, world):
    c = login("manager1")
    first = c.post("/clients/new", data=prospect("钱一", "13900000101"))
    assert first.status_code == 303
    client = db.session.execute(sa.select(Client).where(Client.name == "钱一")).scalar_one()
    second = c.post(f"/clients/{client.id}/followups/new", data=followup("回电话", world.manager1.id))
    assert second.status_code == 303
    # Each form again with the same token: the first result, no twin.
    assert c.post("/clients/new", data=prospect("钱一", "13900000101")).status_code == 303
    assert c.post(f"/clients/{client.id}/followups/new",
                  data=followup("回电话", world.manager1.id)).status_code == 303
    assert count(Client, Client.name == "钱一") == 1
    assert count(FollowUp, FollowUp.title == "回电话") == 1
    assert count(FormSubmission) == 2


def test_the_same_token_twice_on_one_form_makes_one_record(login, world):
    c = login("manager1")
    first = c.post("/clients/new", data=prospect("孙二", "13900000102"))
    second = c.post("/clients/new", data=prospect("孙二", "13900000102"))
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(Client, Client.name == "孙二") == 1


def test_two_users_with_the_same_token_each_get_their_record(login, world):
    first = login("manager1").post("/clients/new", data=prospect("李三", "13900000103"))
    second = login("othermanager").post("/clients/new", data=prospect("周四", "13900000104"))
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] != second.headers["Location"]
    assert count(Client, Client.name.in_(["李三", "周四"])) == 2
    owners = dict(db.session.execute(sa.select(Client.name, Client.owner_id)).all())
    assert owners == {"李三": world.manager1.id, "周四": world.other_manager.id}


def test_a_token_longer_than_the_key_column_is_still_one_submission(login, world):
    c = login("manager1")
    long_token = "x" * 500
    for _ in range(2):
        assert c.post("/clients/new", data=prospect("吴五", "13900000105", long_token)).status_code == 303
    assert count(Client, Client.name == "吴五") == 1


def test_the_key_names_user_form_and_token_in_64_hex_characters(app, world):
    key = submissions.submission_key(TOKEN, world.manager1, "client")
    assert len(key) == 64 and int(key, 16) >= 0
    assert key != submissions.submission_key(TOKEN, world.manager1, "followup")
    assert key != submissions.submission_key(TOKEN, world.manager2, "client")


def test_a_row_kept_under_the_raw_token_is_still_found(app, world):
    client = make_client(world.manager1, name="郑六", mobile="13900000106")
    db.session.flush()
    db.session.add(FormSubmission(token="legacy-raw-token", user_id=world.manager1.id, kind="client",
                                  object_id=client.id))
    db.session.commit()
    assert submissions.already_submitted("legacy-raw-token", world.manager1, "client") == client.id
    assert submissions.already_submitted("legacy-raw-token", world.manager1, "followup") is None
    assert submissions.already_submitted("legacy-raw-token", world.manager2, "client") is None
