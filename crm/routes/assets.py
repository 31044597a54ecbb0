"""Asset snapshots: the admin's back office CSV import, and a client's snapshots entered by hand.

The blueprint has no URL prefix because it serves two places: `/admin/assets` (admins only) and
`/clients/<id>/assets` (anyone who may see the client).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from crm.domain.asset_csv import MAX_BYTES
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.forms.assets import AssetImportForm, SnapshotForm
from crm.models import Role
from crm.routes import refusals
from crm.routes.errors import MESSAGES as ERROR_MESSAGES
from crm.routes.helpers import local_datetime, render, see_other
from crm.routes.loaders import get_client_or_404
from crm.services import assets, tiers

bp = Blueprint("assets", __name__)

# A little room above the service's own limit for the multipart envelope.
MAX_UPLOAD_BYTES = MAX_BYTES + 64 * 1024

SOURCES = {"import": _l("Imported"), "manual": _l("Entered by hand")}

COLUMN_HELP = [
    (_l("Client mobile"), "mobile, 手机号, 手机号码", _l("11 digits; +86, spaces and dashes are fine")),
    (_l("Client number"), "client_no, account_no, 客户号, 资金账号",
     _l("The back office number; give it, the mobile, or both")),
    (_l("Date"), "date, as_of, 日期", _l("YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD; not in the future")),
    (_l("Total assets"), "assets, total_assets, 总资产, 总资产(元)",
     _l("In yuan, at most two decimals; thousands commas are fine")),
]


@bp.url_value_preprocessor
def allow_the_upload(endpoint: str | None, values: dict | None) -> None:
    """Only the import page, and only for an admin, takes a file larger than MAX_CONTENT_LENGTH.

    Set in a URL value preprocessor because those run before every before_request hook, and the
    CSRF check, one of those, reads the body: a limit set in the view would come too late.
    """
    if endpoint == "assets.upload" and current_user.is_authenticated and current_user.role == Role.ADMIN:
        request.max_content_length = MAX_UPLOAD_BYTES


@bp.before_request
@login_required
def require_login():
    """Every asset page needs a signed-in user."""


@bp.errorhandler(413)
def file_too_large(error):
    """A file over the limit: the import page again, saying how large a file may be."""
    if request.endpoint != "assets.upload" or not current_user.is_authenticated or current_user.role != Role.ADMIN:
        return render_template("errors/error.html", status=413, message=ERROR_MESSAGES[413]()), 413
    db.session.rollback()
    form = AssetImportForm(formdata=None)  # the body was not read in full: nothing to show again
    refusals.show(RuleError("assets.too_large", "file", megabytes=MAX_BYTES // (1024 * 1024)), form)
    return render("assets/upload.html", form=form, result=None, errors=[], columns=COLUMN_HELP, status=413)


def _error_rows(result: assets.ImportResult) -> list[tuple[int, str]]:
    return [(error.line, refusals.text(error)) for error in result.errors]


@bp.route("/admin/assets", methods=["GET", "POST"])
def upload():
    """Import the back office's CSV of total assets: all rows or none, then re-tier the clients."""
    if current_user.role != Role.ADMIN:
        abort(403)
    form = AssetImportForm()
    result = None
    status = 200
    if form.validate_on_submit():
        try:
            with assets.one_import_at_a_time(current_user):
                result = assets.import_assets(form.file.data.stream, current_user)
                if result.ok:
                    db.session.commit()
                else:
                    db.session.rollback()
        except assets.ImportRunning as running:
            refusals.show(running, form, time=local_datetime(running.since, "HH:mm"))
            status = 409
    if status == 200 and (form.errors or (result is not None and not result.ok)):
        status = 422
    return render("assets/upload.html", form=form, result=result,
                  errors=_error_rows(result) if result is not None else [],
                  columns=COLUMN_HELP, status=status)


def _flash_outcome(outcome: assets.AddResult, client) -> None:
    """Say what a manual entry did: saved, replaced or already on file, and a tier change."""
    if outcome.status == "unchanged":
        flash(_("That amount was already recorded for this date."), "info")
    elif outcome.status == "updated":
        flash(_("Total assets for that date replaced."), "success")
    else:
        flash(_("Total assets saved."), "success")
    if outcome.tier_changes:
        flash(_("Tier changed to %(tier)s.", tier=client.tier.name if client.tier else "—"), "info")


@bp.route("/clients/<int:client_id>/assets", methods=["GET", "POST"])
def client_assets(client_id: int):
    """A client's total assets over time and tier changes; add one snapshot by hand."""
    client = get_client_or_404(client_id, current_user)
    form = SnapshotForm()
    if form.validate_on_submit():
        try:
            outcome = assets.add_snapshot(client, current_user, form.as_of.data, form.fen)
        except RuleError as refused:
            db.session.rollback()
            refusals.show(refused, form)
        else:
            db.session.commit()
            _flash_outcome(outcome, client)
            return see_other(url_for("assets.client_assets", client_id=client.id))
    return render("assets/client.html", client=client, form=form,
                  snapshots=assets.snapshots_of(client), changes=tiers.tier_changes_of(client),
                  sources=SOURCES, status=422 if form.errors else 200)
