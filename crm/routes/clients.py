"""The client list, prospect capture and the client file."""
from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeSerializer

from crm.domain.formats import mask_id_number, mask_mobile, parse_id
from crm.extensions import db
from crm.forms.clients import ClientEditForm, ProspectForm, ReassignForm, RevealForm, StageForm
from crm.labels import FIELD_NAMES, choices
from crm.models import Role, Stage
from crm.routes import refusals
from crm.routes.helpers import render, see_other
from crm.routes.loaders import get_client_or_404, get_owned_client_or_404
from crm.routes.sessions import restored_input
from crm.services import audit, capture_clash, clients, coverage, plans, pool, submissions
from crm.services.access import answers_for, assignable_owners
from crm.services.scan import open_flags
from crm.services.users import all_outlets

bp = Blueprint("clients", __name__, url_prefix="/clients")


@bp.before_request
@login_required
def require_login():
    """Every client page needs a signed-in user."""


def _outlet_id_arg() -> int | None:
    value = request.args.get("outlet", "")
    return parse_id(value)


@bp.get("")
def index():
    """The user's clients, newest activity first, with live search and filters."""
    q = request.args.get("q", "")[:40]
    stage = request.args.get("stage") or None
    if stage not in {s.value for s in Stage}:
        stage = None
    outlet_id = _outlet_id_arg()
    page = clients.search_clients(current_user, q=q, stage=stage, outlet_id=outlet_id,
                                  cursor=request.args.get("after"),
                                  limit=current_app.config["CRM_PAGE_SIZE"])
    more_args = {"q": q, "stage": stage or "", "outlet": outlet_id or "", "after": page.next_cursor}
    return render("clients/index.html", fragment=request.headers.get("HX-Target") if
                  request.headers.get("HX-Target") in ("results", "more") else None,
                  page=page, q=q, stage=stage, outlet_id=outlet_id, outlets=all_outlets(),
                  more_url=url_for("clients.index", **more_args) if page.next_cursor else None,
                  appending=bool(request.args.get("after")))


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Capture a prospect: name and mobile first, the rest optional."""
    restored = restored_input("clients.new")  # typed here when the session ran out
    form = ProspectForm(formdata=restored) if restored is not None else ProspectForm()
    form.set_outlets(all_outlets(active_only=True))
    if request.method == "GET":
        form.token.data = submissions.new_token()
        if restored is None:
            here = coverage.checked_in_outlet_id(current_user, coverage.today())  # where checked in today
            form.outlet_id.data = str(here or current_user.outlet_id or "")
    elif form.validate_on_submit():
        if not form.token.data:
            form.token.data = submissions.new_token()
        try:
            client_id, created = submissions.submit_once(
                form.token.data, current_user, "client",
                lambda: clients.capture_prospect(current_user, form.client_data()))
        except clients.DuplicateMobile as dup:
            return _duplicate_mobile(form, dup)
        if created:
            flash(_("Prospect %(name)s saved.", name=form.name.data), "success")
        return see_other(url_for("clients.show", client_id=client_id))
    return render("clients/new.html", form=form, status=422 if form.errors else 200)


def _duplicate_mobile(form, dup: clients.DuplicateMobile):
    """撞单: a client one may open opens; a team-mate's names the owner; anyone else's says only "on file".

    A prospect in the typist's own team pool is no clash: typing its mobile claims it (crm.services.pool).
    """
    if pool.claim_on_capture(current_user, dup.client):
        db.session.commit()
        flash(_("%(client)s was in the team pool and is now your client.", client=dup.client.name), "success")
        return see_other(url_for("clients.show", client_id=dup.client.id))
    told = capture_clash.answer(current_user, dup.client, "capture")
    db.session.commit()
    refusal = capture_clash.refusal(told, dup.client, "capture")
    if told == "visible":
        flash(refusals.text(refusal), "info")
        return see_other(url_for("clients.show", client_id=dup.client.id))
    refusals.show(refusal, form)
    return render("clients/new.html", form=form, status=409)


@bp.get("/<int:client_id>")
def show(client_id: int):
    """The client file: details, masked numbers and the timeline."""
    client = get_client_or_404(client_id, current_user)
    in_book = answers_for(current_user, client)
    return render("clients/show.html", client=client, timeline=clients.timeline(client),
                  flags=open_flags(client.id), plan=plans.active_plan(client),
                  stage_form=StageForm(stage=client.stage), reveal_form=RevealForm(), in_book=in_book,
                  can_reassign=in_book and current_user.role in (Role.LEAD, Role.ADMIN))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="client-edit")


# The edit form's signed `loaded` field is readable by anyone holding the page (signed, not
# encrypted), so the numbers on file travel in it only as keyed digests.
_SEALED_FIELDS = ("mobile", "id_number")
_DIGEST_PREFIX = "hmac:"
# Stands for "changed by someone else since the form was loaded" (the digest no longer matches).
_CHANGED_SINCE_LOADED = "\x00changed"


def _digest(client_id: int, name: str, value: str) -> str:
    key = current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else current_app.secret_key
    mac = hmac.new(key, f"client-edit:{client_id}:{name}:{value}".encode(), hashlib.sha256)
    return _DIGEST_PREFIX + mac.hexdigest()


def _seal(client_id: int, values: dict) -> str:
    """The loaded values for the hidden field, the mobile and ID number replaced by digests."""
    sealed = dict(values)
    for name in _SEALED_FIELDS:
        if sealed.get(name) is not None:
            sealed[name] = _digest(client_id, name, sealed[name])
    return _serializer().dumps(sealed)


def _unseal(client, token: str) -> dict:
    """The loaded values back; a digest becomes the number on file, or a marker when it has changed since."""
    loaded = _serializer().loads(token)
    if not isinstance(loaded, dict):
        raise ValueError("loaded")
    for name in _SEALED_FIELDS:
        value = loaded.get(name)
        if isinstance(value, str) and value.startswith(_DIGEST_PREFIX):
            current = getattr(client, name)
            same = current is not None and hmac.compare_digest(value, _digest(client.id, name, current))
            loaded[name] = current if same else _CHANGED_SINCE_LOADED
    return loaded


def _masked_changes(changes: list[clients.FieldChange]) -> list[clients.FieldChange]:
    """Conflict lines with the numbers masked (the full values are a reveal, not a conflict message)."""
    masks = {"mobile": mask_mobile, "id_number": mask_id_number}
    shown = []
    for change in changes:
        mask = masks.get(change.name)
        if mask is None:
            shown.append(change)
        else:
            shown.append(clients.FieldChange(change.name, None,
                                             mask(change.theirs) if change.theirs else None,
                                             mask(change.mine) if change.mine else None))
    return shown


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
def edit(client_id: int):
    """Edit the client file; a save over someone else's newer changes is told what changed.

    The mobile and ID number are shown masked; typing a new one replaces it, an empty input keeps it.
    """
    client = get_owned_client_or_404(client_id, current_user)  # owner, lead, admin: not an assignee
    form = ClientEditForm(obj=client)
    form.set_outlets(all_outlets())
    conflict = None
    if request.method == "GET":
        form.outlet_id.data = str(client.outlet_id or "")
        form.version.data = str(client.version)
        form.loaded.data = _seal(client.id, clients.snapshot(client))
        form.show_masked(client.mobile, client.id_number)
    elif form.validate_on_submit():
        try:
            loaded = _unseal(client, form.loaded.data or "")
            version = int(form.version.data or "0")
        except (BadSignature, ValueError):
            abort(400)
        try:
            result = clients.edit_client(client, current_user, form.client_data(on_file=loaded), loaded, version)
            db.session.commit()
        except clients.EditConflict as exc:
            db.session.rollback()
            conflict = exc
            conflict.changes = _masked_changes(exc.changes)
            # The next save is made knowing the other person's values: it may overwrite them.
            form.version.data = str(exc.current_version)
            form.loaded.data = _seal(client.id, exc.current_values)
        except clients.DuplicateMobile as dup:
            db.session.rollback()
            told = capture_clash.answer(current_user, dup.client, "edit")
            db.session.commit()
            refusals.show(capture_clash.refusal(told, dup.client, "edit"), form)
        except clients.DuplicateIdNumber as refusal:
            db.session.rollback()
            refusals.show(refusal, form)
        else:
            if result.merged_from_others:
                flash(_("Saved. Someone else had changed %(fields)s meanwhile; their changes were kept.",
                        fields="、".join(str(FIELD_NAMES[f]) for f in result.merged_from_others)), "info")
            else:
                flash(_("Client file saved."), "success")
            return see_other(url_for("clients.show", client_id=client.id))
    if request.method == "POST":
        # After a refusal the inputs keep what was typed; the placeholders still show the numbers on file.
        typed_mobile, typed_id = form.mobile.data, form.id_number.data
        db.session.refresh(client)
        form.show_masked(client.mobile, client.id_number)
        form.mobile.data, form.id_number.data = typed_mobile, typed_id
    status = 409 if conflict else (422 if form.errors else 200)
    return render("clients/edit.html", form=form, client=client, conflict=conflict,
                  conflict_text=refusals.text(conflict) if conflict else "", field_names=FIELD_NAMES,
                  status=status)


@bp.post("/<int:client_id>/stage")
def stage(client_id: int):
    """Move the client to another lifecycle stage (owner, lead, admin)."""
    client = get_owned_client_or_404(client_id, current_user)
    form = StageForm()
    if form.validate_on_submit():
        if clients.change_stage(client, current_user, Stage(form.stage.data), form.note.data or ""):
            db.session.commit()
            flash(_("Stage changed."), "success")
    else:
        flash(_("Choose a stage from the list."), "error")
    return see_other(url_for("clients.show", client_id=client.id))


@bp.post("/<int:client_id>/reveal")
def reveal(client_id: int):
    """Show a masked number in full, on purpose; the reveal is logged."""
    client = get_client_or_404(client_id, current_user)
    form = RevealForm()
    if not form.validate_on_submit():
        abort(400)
    field = form.field.data
    value = getattr(client, field)
    if not value:
        abort(404)
    audit.record(current_user, "reveal.mobile" if field == "mobile" else "reveal.id_number", "client", client.id)
    db.session.commit()
    return render("clients/_revealed.html", fragment=f"revealed_{field}", client=client, field=field,
                  value=value)


@bp.post("/<int:client_id>/call")
def call(client_id: int):
    """Tap to call: log the reveal of the number, then hand it to the phone's dialer.

    A POST with the form check, so that no link on another site can write the audit row (a GET is 405).
    """
    client = get_client_or_404(client_id, current_user)
    audit.record(current_user, "reveal.mobile.call", "client", client.id)
    db.session.commit()
    return redirect("tel:+86" + client.mobile, code=303)


@bp.route("/<int:client_id>/reassign", methods=["GET", "POST"])
def reassign(client_id: int):
    """A lead or admin hands the client to another manager, with a reason (audited)."""
    if current_user.role not in (Role.LEAD, Role.ADMIN):
        abort(404)
    client = get_owned_client_or_404(client_id, current_user)
    form = ReassignForm()
    owners = assignable_owners(current_user)
    form.owner_id.choices = choices({u.id: u.display_name for u in owners})
    if form.validate_on_submit():
        new_owner = next(u for u in owners if str(u.id) == form.owner_id.data)
        if clients.reassign(client, current_user, new_owner, form.reason.data) is None:
            flash(_("%(owner)s already looks after %(client)s: nothing was changed.", client=client.name,
                    owner=new_owner.display_name), "info")
        else:
            db.session.commit()
            flash(_("%(client)s now belongs to %(owner)s.", client=client.name,
                    owner=new_owner.display_name), "success")
        return see_other(url_for("clients.show", client_id=client.id))
    if request.method == "GET":
        form.owner_id.data = str(client.owner_id)
    return render("clients/reassign.html", form=form, client=client,
                  status=422 if form.errors else 200)
