"""Forms of the asset pages: the back office CSV upload and a snapshot entered by hand."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, StringField, ValidationError
from wtforms.validators import InputRequired

from crm.domain.asset_csv import EARLIEST_DATE, MAX_AMOUNT_FEN
from crm.domain.clock import SHANGHAI
from crm.domain.formats import InvalidFormat, yuan_to_fen
from crm.forms.fields import TEXT
from crm.routes import refusals


def _today():
    return datetime.now(SHANGHAI).date()


class AssetImportForm(FlaskForm):
    """Upload the back office's CSV of total assets per client and date."""

    file = FileField(_l("CSV file"), validators=[
        FileRequired(message=_l("Choose the CSV file to import.")),
        FileAllowed(["csv", "txt"], message=_l("Upload a .csv file (in Excel: Save As, “CSV UTF-8”).")),
    ], render_kw={"accept": ".csv,text/csv"})


class SnapshotForm(FlaskForm):
    """A client's total assets on one date, typed in yuan."""

    as_of = DateField(_l("Date"), default=_today, validators=[InputRequired()])
    amount = StringField(_l("Total assets (yuan)"), filters=TEXT, validators=[InputRequired()],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})

    def validate_as_of(self, field) -> None:
        """Not in the future, not before the markets opened."""
        if field.data and field.data > _today():
            raise ValidationError(_l("The date cannot be in the future."))
        if field.data and field.data < EARLIEST_DATE:
            raise ValidationError(_l("Enter a date after 1990."))

    def validate_amount(self, field) -> None:
        """Yuan with at most two decimals, not negative; kept as integer fen in `fen`."""
        try:
            fen = yuan_to_fen(field.data or "")
        except InvalidFormat as exc:
            raise ValidationError(refusals.text(exc)) from None
        if fen < 0:
            raise ValidationError(_l("Total assets cannot be negative."))
        if fen > MAX_AMOUNT_FEN:
            raise ValidationError(_l("This amount is too large to be a client's total assets."))
        self.fen = fen
