"""Links to pages of the app, usable inside and outside a request (emails from jobs)."""
from __future__ import annotations

from flask import current_app, has_request_context, url_for


def path_for(endpoint: str, **values) -> str:
    """The path of a page, with or without an active request."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def absolute_url(endpoint: str, **values) -> str:
    """The address of a page as a user opens it from an email (CRM_BASE_URL + path)."""
    return absolute(path_for(endpoint, **values))


def absolute(path: str) -> str:
    """An app path as the address a user opens from an email."""
    return current_app.config["CRM_BASE_URL"] + path
