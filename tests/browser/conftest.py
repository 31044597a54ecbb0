"""Browser fixtures: the app served on a real port, driven by Debian's chromium through Playwright.

Every test under tests/browser is marked `browser`, and skipped with SKIP_REASON when
/usr/bin/chromium or the playwright package is missing. Playwright never downloads a browser
here: it launches the system chromium.
"""
from __future__ import annotations

import importlib.util
import os
import re
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
SKIP_REASON = ("browser tests skipped: /usr/bin/chromium not installed "
               "(apt-get install chromium fonts-noto-cjk)")
HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
BROWSER_MISSING = not (os.access(CHROMIUM, os.X_OK) and HAVE_PLAYWRIGHT)

if HAVE_PLAYWRIGHT:
    from playwright.sync_api import expect, sync_playwright

HERE = Path(__file__).resolve().parent
DEFAULT_TIMEOUT_MS = 10_000
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# A 390 px wide phone (iPhone 12–15 class), in China.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def pytest_collection_modifyitems(config, items):
    """Mark everything under tests/browser `browser` (`-m "not browser"` leaves it out); skip
    it when chromium or playwright is missing."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if BROWSER_MISSING:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


def artifacts_dir(config) -> Path:
    """test-artifacts/ at the repository root (git-ignored)."""
    path = Path(config.rootpath) / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def app_config(app_config):
    """Real CSRF protection: the browser posts the tokens the pages carry."""
    return {**app_config, "WTF_CSRF_ENABLED": True}


class _RequestLog:
    """WSGI middleware noting every request, its status and how many are in flight.

    5xx responses are kept apart: htmx would otherwise swallow them silently.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, str]] = []
        self.errors: list[str] = []
        self.in_flight = 0
        self.slow: dict[tuple[str, str], float] = {}

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")

        def recording_start_response(status, headers, exc_info=None):
            with self.lock:
                self.requests.append((method, path, status))
                if status.startswith("5"):
                    self.errors.append(f"{method} {path} -> {status}")
            return start_response(status, headers, exc_info)

        with self.lock:
            self.in_flight += 1
        try:
            # The app's responses are rendered in full (no streaming), so this covers the work.
            response = self.wsgi_app(environ, recording_start_response)
            # A slow network: the app has done its work, the answer has not left yet.
            time.sleep(self.slow.get((method, path), 0))
            return response
        finally:
            with self.lock:
                self.in_flight -= 1


class LiveServer(str):
    """The base URL of the live server (a str), with a look at the requests it served."""

    log: _RequestLog

    def count(self, method: str, path: str) -> int:
        """How many requests with this method and path were answered so far."""
        with self.log.lock:
            return sum(1 for m, p, _ in self.log.requests if m == method and p == path)

    def wait_for(self, method: str, path: str, number: int, timeout: float = 10.0) -> None:
        """Wait until the server has answered `number` such requests (answered, maybe not sent)."""
        deadline = time.monotonic() + timeout
        while self.count(method, path) < number:
            if time.monotonic() > deadline:
                raise AssertionError(f"the live server got no {number} × {method} {path}")
            time.sleep(0.02)

    def slow_down(self, method: str, path: str, seconds: float) -> None:
        """Hold the answers to these requests for `seconds` after the app made them."""
        self.log.slow[(method, path)] = seconds

    def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no request has been in flight for `quiet` seconds (e.g. an abandoned twin)."""
        deadline = time.monotonic() + timeout
        idle_since = None
        while time.monotonic() < deadline:
            if self.log.in_flight:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= quiet:
                return
            time.sleep(0.02)
        raise AssertionError(f"the live server stayed busy for {timeout}s")


@pytest.fixture
def live_server(app, world):
    """The app (fresh per-test database, `world` users seeded) served on 127.0.0.1:<free port>.

    Yields the base URL, as a `LiveServer` str. Each request runs in its own app context on a
    server thread, as in production; the test keeps the app context the `app` fixture pushed.
    Fails the test at teardown if any request was answered with a 5xx.
    """
    app.config["WTF_CSRF_ENABLED"] = True
    log = _RequestLog(app)
    server = make_server("127.0.0.1", 0, log, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    url = LiveServer(f"http://127.0.0.1:{server.server_port}")
    url.log = log
    try:
        yield url
    finally:
        try:
            # Requests the closed pages left behind would still hold database connections.
            url.wait_idle(quiet=0.05)
        finally:
            server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    assert not log.errors, f"the live server answered with errors: {log.errors}"


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session (Debian's, never a downloaded one)."""
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


@pytest.fixture
def new_page(browser, live_server, request):
    """Open a page in a new phone-sized browser context on the live server; `**options` override.

    Relative URLs go to the live server (`page.goto("/login")`). When the test fails, every
    page opened through this fixture is saved to test-artifacts/<test name>[-n].png.
    """
    contexts = []

    def open_page(**options):
        context = browser.new_context(**{**PHONE, "base_url": live_server, **options})
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page

    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    pages = [p for c in contexts for p in c.pages]
    try:
        if failed and pages:
            folder = artifacts_dir(request.config)
            base = _safe_name(request.node.name)
            for number, page in enumerate(pages):
                suffix = f"-{number + 1}" if len(pages) > 1 else ""
                try:
                    page.screenshot(path=str(folder / f"{base}{suffix}.png"), full_page=True)
                except Exception as exc:  # noqa: BLE001 — a screenshot must not hide the failure
                    print(f"could not save a screenshot of {page.url}: {exc}")
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page):
    """A phone-sized page (390×844 @2x, touch, zh-CN, Asia/Shanghai) on the live server."""
    return new_page()


@pytest.fixture
def artifacts(request) -> Path:
    """The folder for screenshots the tests save on purpose (test-artifacts/)."""
    return artifacts_dir(request.config)
