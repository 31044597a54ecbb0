"""Error pages in the user's language, as full pages or htmx fragments."""
from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from crm.domain.refusals import NotAllowed, NotFound
from crm.extensions import db

MESSAGES = {
    400: lambda: _("The request could not be understood. Go back and try again."),
    403: lambda: _("You do not have access to this page."),
    404: lambda: _("This page does not exist, or you do not have access to it."),
    405: lambda: _("This action is not available here."),
    413: lambda: _("What you sent is too large."),
    429: lambda: _("Too many attempts. Wait a few minutes and try again."),
    500: lambda: _("Something went wrong on our side. What you entered was not saved; please try again."),
}


def _page(status: int, message: str):
    return render_template("errors/error.html", status=status, message=message), status


def register(app: Flask) -> None:
    """Install the handlers."""

    def handle(error):
        status = getattr(error, "code", 500) or 500
        message = MESSAGES.get(status, MESSAGES[500])()
        return _page(status, message)

    for status in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(status, handle)

    # A service that finds no visible record raises NotFound; a route that did not load it through
    # crm.routes.loaders still answers 404 (403 for NotAllowed), never a 500.
    app.register_error_handler(NotFound, lambda error: _page(404, MESSAGES[404]()))
    app.register_error_handler(NotAllowed, lambda error: _page(403, MESSAGES[403]()))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _page(400, _("This form has expired or was sent from elsewhere. "
                            "Reload the page and send it again."))

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _page(500, MESSAGES[500]())
