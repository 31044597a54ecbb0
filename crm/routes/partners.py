"""Channel partners (渠道伙伴): the list, adding and editing one, its page and the contacts kept with it."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.domain.formats import parse_id
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.forms.partners import PartnerContactForm, PartnerEditForm, PartnerForm, PartnerRevealForm
from crm.labels import PARTNER_FIELD_NAMES
from crm.models import utcnow
from crm.routes import refusals
from crm.routes.helpers import render, see_other
from crm.routes.loaders import get_partner_or_404
from crm.services import partners, submissions
from crm.services.users import all_outlets

bp = Blueprint("partners", __name__, url_prefix="/partners")


@bp.before_request
@login_required
def require_login():
    """Every partner page needs a signed-in user."""


@bp.get("")
def index():
    """The user's partners in pinyin order, with live search and an outlet filter; the due ones marked."""
    q = request.args.get("q", "")[:40]
    outlet_id = parse_id(request.args.get("outlet", ""))
    page = partners.search_partners(current_user, q=q, outlet_id=outlet_id, cursor=request.args.get("after"),
                                    limit=current_app.config["CRM_PAGE_SIZE"])
    more_url = (url_for("partners.index", q=q, outlet=outlet_id or "", after=page.next_cursor)
                if page.next_cursor else None)
    target = request.headers.get("HX-Target")
    return render("partners/index.html", fragment=target if target in ("results", "more") else None,
                  page=page, q=q, outlet_id=outlet_id, outlets=all_outlets(), more_url=more_url,
                  now=utcnow(), is_due=partners.is_due)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Add a partner: name and role first, the rest optional."""
    form = PartnerForm()
    form.set_outlets(all_outlets(active_only=True))
    if request.method == "GET":
        form.token.data = submissions.new_token()
        form.outlet_id.data = str(current_user.outlet_id or "")
    elif form.validate_on_submit():
        if not form.token.data:
            form.token.data = submissions.new_token()
        try:
            partner_id, created = submissions.submit_once(
                form.token.data, current_user, "partner",
                lambda: partners.add_partner(current_user, form.partner_data()))
        except RuleError as refusal:
            refusals.show(refusal, form)
        else:
            if created:
                flash(_("Partner %(name)s saved.", name=form.name.data), "success")
            return see_other(url_for("partners.show", partner_id=partner_id))
    return render("partners/new.html", form=form, status=422 if form.errors else 200)


@bp.get("/<int:partner_id>")
def show(partner_id: int):
    """The partner's page: details with the mobile masked, and the contacts kept, newest first."""
    partner = get_partner_or_404(partner_id, current_user)
    now = utcnow()
    return render("partners/show.html", partner=partner, contacts=partners.contacts(partner),
                  reveal_form=PartnerRevealForm(), due_at=partners.due_at(partner),
                  due=partners.is_due(partner, now))


@bp.route("/<int:partner_id>/edit", methods=["GET", "POST"])
def edit(partner_id: int):
    """Edit the partner; a save over someone else's newer save is refused with their values shown."""
    partner = get_partner_or_404(partner_id, current_user)
    form = PartnerEditForm(obj=partner)
    form.set_outlets(all_outlets())
    conflict = None
    if request.method == "GET":
        form.outlet_id.data = str(partner.outlet_id or "")
        form.version.data = str(partner.version)
        form.show_masked(partner.mobile)
    elif form.validate_on_submit():
        try:
            partners.edit_partner(partner, current_user, form.partner_data(on_file=partner.mobile),
                                  form.loaded_version())
            db.session.commit()
        except partners.EditConflict as exc:
            db.session.rollback()
            conflict = exc
            # The next save is made knowing the other person's values: it may overwrite them.
            form.version.data = str(exc.current_version)
        except RuleError as refusal:
            db.session.rollback()
            refusals.show(refusal, form)
        else:
            flash(_("Partner saved."), "success")
            return see_other(url_for("partners.show", partner_id=partner.id))
    if request.method == "POST":
        typed = request.form.get("mobile", "")[:40]  # what was typed, never the number on file
        partner = get_partner_or_404(partner_id, current_user)
        form.show_masked(partner.mobile)
        form.mobile.data = typed
    status = 409 if conflict else (422 if form.errors else 200)
    return render("partners/edit.html", form=form, partner=partner, conflict=conflict,
                  conflict_text=refusals.text(conflict) if conflict else "", field_names=PARTNER_FIELD_NAMES,
                  status=status)


@bp.post("/<int:partner_id>/reveal")
def reveal(partner_id: int):
    """Show the masked mobile in full, on purpose; the reveal is logged."""
    partner = get_partner_or_404(partner_id, current_user)
    if not PartnerRevealForm().validate_on_submit():
        abort(400)
    if not partner.mobile:
        abort(404)
    value = partners.reveal_mobile(partner, current_user)
    db.session.commit()
    return render("partners/_revealed.html", fragment="revealed_mobile", partner=partner, value=value)


@bp.route("/<int:partner_id>/contacts/new", methods=["GET", "POST"])
def new_contact(partner_id: int):
    """Log a contact with this partner (now by default)."""
    partner = get_partner_or_404(partner_id, current_user)
    form = PartnerContactForm()
    if request.method == "GET":
        form.token.data = submissions.new_token()
    elif form.validate_on_submit():
        if not form.token.data:
            form.token.data = submissions.new_token()
        try:
            _contact_id, created = submissions.submit_once(
                form.token.data, current_user, "partner-contact",
                lambda: partners.log_contact(partner, current_user, form.contact_data()))
        except RuleError as refusal:
            refusals.show(refusal, form)
        else:
            if created:
                flash(_("Contact logged."), "success")
            return see_other(url_for("partners.show", partner_id=partner.id))
    return render("partners/contact_new.html", form=form, partner=partner, status=422 if form.errors else 200)
