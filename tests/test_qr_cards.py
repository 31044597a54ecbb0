"""QR cards (扫码登记): signed tokens, one active card per manager and outlet, revocation, SVG and PDF."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

from crm.extensions import db
from crm.models import AuditEvent, QrCard
from crm.services import qr_cards


def issue(manager, outlet) -> QrCard:
    card = qr_cards.issue_card(manager, outlet)
    db.session.commit()
    return card


def public_path(card) -> str:
    return f"/r/{qr_cards.card_token(card)}"


def test_the_token_signs_the_id_and_part_of_the_nonce_not_the_id_alone(app, world):
    card = issue(world.manager1, world.outlets[0])
    token = qr_cards.card_token(card)
    assert str(card.id) != token and card.nonce[:8] not in token.split(".")[-1]
    assert qr_cards.card_from_token(token).id == card.id
    assert qr_cards.public_url(card) == "http://127.0.0.1:5000" + public_path(card)


def test_a_tampered_token_is_a_404_page_without_links(app, world, client):
    card = issue(world.manager1, world.outlets[0])
    token = qr_cards.card_token(card)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for path in (f"/r/{tampered}", f"/r/{card.id}", "/r/x", f"/r/{token}x"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "/login" not in response.get_data(as_text=True)


def test_a_token_with_another_cards_nonce_is_a_404(app, world, client):
    mine = issue(world.manager1, world.outlets[0])
    other = issue(world.manager2, world.outlets[1])
    forged = URLSafeSerializer(app.secret_key, salt="qr-card").dumps([mine.id, other.nonce[:8]])
    assert client.get(f"/r/{forged}").status_code == 404
    wrong_salt = URLSafeSerializer(app.secret_key, salt="client-edit").dumps([mine.id, mine.nonce[:8]])
    assert client.get(f"/r/{wrong_salt}").status_code == 404
    assert client.get(public_path(mine)).status_code == 200


@given(token=st.text(max_size=80))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_token_is_a_card_or_a_404_never_a_500(app, world, token):
    c = app.test_client()
    assert c.get("/r/" + re.sub(r"[/?#%\\\s]", "", token) + "z").status_code in (404, 308)


def test_revoking_stops_the_card_at_once_with_a_friendly_410(app, world, login, client):
    card = issue(world.manager1, world.outlets[0])
    path = public_path(card)
    assert client.get(path).status_code == 200
    response = login("manager1").post(f"/cards/{card.id}/revoke")
    assert response.status_code == 303
    gone = client.get(path)
    assert gone.status_code == 410
    assert "柜台" in gone.get_data(as_text=True)
    assert client.post(path, data={"name": "张三", "mobile": "13900000009", "consent": "y"}).status_code == 410
    assert db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "qr.card_revoke")).scalar_one()


def test_issuing_again_for_the_same_outlet_revokes_the_old_card_and_makes_a_new_nonce(app, world, client):
    old = issue(world.manager1, world.outlets[0])
    old_path = public_path(old)
    other_outlet = issue(world.manager1, world.outlets[1])
    new = issue(world.manager1, world.outlets[0])
    db.session.expire_all()
    assert new.nonce != old.nonce and db.session.get(QrCard, old.id).revoked_at is not None
    assert db.session.get(QrCard, other_outlet.id).revoked_at is None
    assert client.get(old_path).status_code == 410
    assert client.get(public_path(new)).status_code == 200


def test_a_lead_revokes_a_team_members_card_another_manager_cannot_see_it(app, world, login):
    card = issue(world.manager1, world.outlets[0])
    assert login("manager2").post(f"/cards/{card.id}/revoke").status_code == 404
    assert login("otherlead").get(f"/cards/{card.id}").status_code == 404
    assert login("lead").post(f"/cards/{card.id}/revoke").status_code == 303
    db.session.expire_all()
    assert db.session.get(QrCard, card.id).revoked_by_id == world.lead.id


def test_a_card_whose_manager_left_stops(app, world, client):
    card = issue(world.manager1, world.outlets[0])
    world.manager1.active = False
    db.session.commit()
    assert client.get(public_path(card)).status_code == 410


def test_new_card_form_issues_one_card_per_token(app, world, login):
    c = login("manager1")
    page = c.get("/cards/new").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"outlet_id": str(world.outlets[1].id), "token": token}
    first, second = c.post("/cards/new", data=data), c.post("/cards/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.query(QrCard).count() == 1
    assert db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "qr.card_issue")).scalar_one()


def test_new_card_form_refuses_an_unknown_outlet_with_a_field_error(app, world, login):
    response = login("manager1").post("/cards/new", data={"outlet_id": "999999", "token": "t"})
    assert response.status_code == 422
    assert db.session.query(QrCard).count() == 0


@given(outlet=st.text(max_size=30), token=st.text(max_size=30))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_new_card_form_never_answers_500(app, world, outlet, token):
    c = app.test_client()
    c.post("/login", data={"username": "manager1", "password": "test-pass-12345"})
    assert c.post("/cards/new", data={"outlet_id": outlet, "token": token}).status_code < 500


def test_the_cards_page_lists_outlet_and_registrations(app, world, login):
    card = issue(world.manager1, world.outlets[0])
    page = login("manager1").get("/cards").get_data(as_text=True)
    assert world.outlets[0].label in page and f"/cards/{card.id}" in page
    assert world.outlets[0].label not in login("manager2").get("/cards").get_data(as_text=True)
    assert f"/cards/{card.id}" in login("lead").get("/cards").get_data(as_text=True)


def test_svg_and_pdf_print_the_card(app, world, login):
    card = issue(world.manager1, world.outlets[0])
    c = login("manager1")
    svg = c.get(f"/cards/{card.id}.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    pdf = c.get(f"/cards/{card.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert b"STSong-Light" in pdf.data
    preview = c.get(f"/cards/{card.id}").get_data(as_text=True)
    assert qr_cards.public_url(card) in preview


def test_a_revoked_card_prints_nothing(app, world, login):
    card = issue(world.manager1, world.outlets[0])
    qr_cards.revoke_card(card, world.manager1)
    db.session.commit()
    c = login("manager1")
    assert c.get(f"/cards/{card.id}.pdf").status_code == 410
    assert c.get(f"/cards/{card.id}.svg").status_code == 410
    assert c.get(f"/cards/{card.id}").status_code == 200


@pytest.mark.parametrize("path", ["/cards", "/cards/new"])
def test_card_pages_need_signing_in(client, world, path):
    assert client.get(path).status_code == 302
