"""QR cards (扫码登记): issue one per manager and outlet, revoke, sign the public URL, draw the SVG and PDF.

The public URL is `/r/<token>`: the token signs [card id, the first 8 characters of its nonce] with the
app's secret (salt "qr-card"), so nobody can guess a card's address from its id, and a card re-issued
(a new row, a new nonce) or revoked stops at once.
"""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import datetime

import segno
import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import orm as so

from crm.domain.refusals import NotFound
from crm.extensions import db
from crm.models import Outlet, QrCard, SelfRegistration, User, utcnow
from crm.services import audit
from crm.services.access import qr_card_visibility
from crm.services.links import absolute, path_for

NONCE_IN_TOKEN = 8
INVITATION = "扫码登记，您的客户经理将尽快与您联系"  # the card is printed in Chinese whatever the screen language


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="qr-card")


def card_token(card: QrCard) -> str:
    """The signed token of the card's public URL."""
    return _serializer().dumps([card.id, card.nonce[:NONCE_IN_TOKEN]])


def card_from_token(token: str) -> QrCard:
    """The card a token names (revoked or not), else NotFound: forged, tampered or an old nonce."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        raise NotFound("qr_card") from None
    if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], int)
            or isinstance(value[0], bool) or not isinstance(value[1], str) or not 0 < value[0] < 2**31):
        raise NotFound("qr_card")
    card = db.session.get(QrCard, value[0])
    if card is None or not secrets.compare_digest(card.nonce[:NONCE_IN_TOKEN], value[1]):
        raise NotFound("qr_card")
    return card


def is_in_use(card: QrCard) -> bool:
    """A card answers visitors until it is revoked or its manager leaves."""
    return card.revoked_at is None and card.manager.active


def public_url(card: QrCard) -> str:
    """The absolute address the QR code holds."""
    return absolute(path_for("register.form", token=card_token(card)))


def issue_card(manager: User, outlet: Outlet, now: datetime | None = None) -> QrCard:
    """A new card for the manager at the outlet; the manager's card there before is revoked (one active)."""
    now = now or utcnow()
    for old in db.session.execute(sa.select(QrCard).where(
            QrCard.manager_id == manager.id, QrCard.outlet_id == outlet.id, QrCard.revoked_at.is_(None))).scalars():
        revoke_card(old, manager, now)
    card = QrCard(manager_id=manager.id, outlet_id=outlet.id, nonce=secrets.token_hex(16),
                  created_by_id=manager.id, created_at=now)
    db.session.add(card)
    db.session.flush()
    audit.record(manager, "qr.card_issue", "qr_card", card.id, params={"outlet": outlet.label})
    return card


def revoke_card(card: QrCard, actor: User, now: datetime | None = None) -> bool:
    """Stop the card at once; False when it was already revoked."""
    if card.revoked_at is not None:
        return False
    card.revoked_at = now or utcnow()
    card.revoked_by_id = actor.id
    audit.record(actor, "qr.card_revoke", "qr_card", card.id,
                 params={"manager": card.manager.display_name, "outlet": card.outlet.label})
    db.session.flush()
    return True


@dataclass
class CardRow:
    """A card on the cards page, with how many visitors registered through it."""

    card: QrCard
    registrations: int


def visible_cards(user: User) -> list[CardRow]:
    """The cards the user may see, active first and newest first, each with its registrations count."""
    counts = (sa.select(SelfRegistration.card_id, sa.func.count().label("n"))
              .group_by(SelfRegistration.card_id).subquery())
    rows = db.session.execute(
        sa.select(QrCard, sa.func.coalesce(counts.c.n, 0))
        .options(so.joinedload(QrCard.outlet), so.joinedload(QrCard.manager))
        .outerjoin(counts, counts.c.card_id == QrCard.id)
        .where(qr_card_visibility(user))
        .order_by(QrCard.revoked_at.is_not(None), QrCard.created_at.desc(), QrCard.id.desc()).limit(200)
    ).all()
    return [CardRow(card, count) for card, count in rows]


def card_svg(card: QrCard) -> bytes:
    """The card's QR code as SVG, large enough to print sharp (10 px modules, quiet zone of 4)."""
    out = io.BytesIO()
    segno.make(public_url(card), error="m").save(out, kind="svg", scale=10, border=4, xmldecl=True,
                                                 title="QR")
    return out.getvalue()


def card_pdf(card: QrCard) -> bytes:
    """An A6 card to print: the QR code, the manager's name, the outlet and a line of invitation (Chinese)."""
    from reportlab.lib.pagesizes import A6
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    width, height = A6
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A6, pageCompression=1)
    pdf.setTitle(f"{card.manager.display_name} · {card.outlet.label}")
    pdf.setFont("STSong-Light", 13)
    pdf.drawCentredString(width / 2, height - 18 * mm, INVITATION)
    qr = segno.make(public_url(card), error="m")
    modules = list(qr.matrix_iter(border=2))
    side = 80 * mm
    cell = side / len(modules)
    left, top = (width - side) / 2, height - 24 * mm
    pdf.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(left + c * cell, top - (r + 1) * cell, cell, cell, stroke=0, fill=1)
    pdf.setFont("STSong-Light", 14)
    pdf.drawCentredString(width / 2, top - side - 10 * mm, card.manager.display_name)
    pdf.setFont("STSong-Light", 11)
    pdf.drawCentredString(width / 2, top - side - 17 * mm, card.outlet.label)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
