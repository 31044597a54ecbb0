"""The outlet-development migration, as an operator upgrading a live book meets it."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from crm.extensions import db
from crm.models import Client, Stage, utcnow
from tests.factories import make_client

BEFORE = "255cfbca2f49"  # the head before partners, coverage, the pool and QR cards


def test_prospects_on_file_get_a_fresh_protection_period_at_the_upgrade_and_clients_none(app, world):
    old = make_client(world.manager1, name="老潜客", days_ago=60)
    contacted = make_client(world.manager1, name="联系过")
    contacted.stage = Stage.CONTACTED.value
    active = make_client(world.manager1, name="老客户")
    active.stage, active.account_opened_at = Stage.ACTIVE.value, utcnow() - timedelta(days=400)
    db.session.commit()
    ids = {"old": old.id, "contacted": contacted.id, "active": active.id}
    db.session.remove()

    downgrade(revision=BEFORE)
    with db.engine.connect() as conn:
        assert "protection_started_at" not in {c["name"] for c in sa.inspect(conn).get_columns("clients")}
    before_upgrade = utcnow()
    upgrade()

    started = {name: db.session.get(Client, client_id).protection_started_at for name, client_id in ids.items()}
    # A prospect captured 60 days ago is not released on the first run after the upgrade: its period starts now.
    assert started["old"] >= before_upgrade - timedelta(seconds=1)
    assert started["contacted"] >= before_upgrade - timedelta(seconds=1)
    assert started["active"] is None


def test_a_prospect_cannot_name_both_a_client_and_a_partner_as_its_referrer(app, world):
    referrer = make_client(world.manager1, name="老客户")
    prospect = make_client(world.manager1, name="新朋友")
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("INSERT INTO partners (name, name_initials, name_pinyin, role, organisation, notes, "
                                   "consent_contact, cadence_days, active, owner_id, created_by_id, created_at, "
                                   "updated_at, version) VALUES ('李柜员', 'lgy', 'liguiyuan', 'teller', '', '', "
                                   ":f, 30, :t, :owner, :owner, :now, :now, 1)"),
                           {"owner": world.manager1.id, "now": utcnow().replace(tzinfo=None), "f": False, "t": True})
        partner_id = db.session.execute(sa.text("SELECT max(id) FROM partners")).scalar_one()
        db.session.execute(sa.text("UPDATE clients SET referrer_client_id = :c, referrer_partner_id = :p WHERE id = :id"),
                           {"c": referrer.id, "p": partner_id, "id": prospect.id})
        db.session.flush()
    db.session.rollback()
