"""What the deployment relies on: migrations match the models, htmx is vendored, no CDN."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm.extensions import db
from crm.models import Base

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_build_exactly_the_schema_the_models_describe(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_vendored_htmx_matches_its_recorded_checksum():
    vendor = ROOT / "crm/static/vendor"
    for line in (vendor / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((vendor / name.lstrip("*")).read_bytes()).hexdigest() == digest


def test_templates_load_nothing_from_other_sites():
    for template in (ROOT / "crm/templates").rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"""(src|href)=["']https?://""", text), template


def test_base_template_uses_the_vendored_htmx():
    base = (ROOT / "crm/templates/base.html").read_text()
    assert "vendor/htmx-2.0.11.min.js" in base
