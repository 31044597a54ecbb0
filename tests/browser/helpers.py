"""Steps many browser journeys share."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD


def sign_in(page: Page, username: str, lands_on: str | None = None) -> None:
    """Sign in on /login; wait for the start page (`lands_on`, e.g. "team"), or for any page but /login."""
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form[action^='/login'] button[type=submit]").click()
    if lands_on:
        expect(page).to_have_url(re.compile(rf"/{lands_on}$"))
    else:
        expect(page).not_to_have_url(re.compile(r"/login"))
