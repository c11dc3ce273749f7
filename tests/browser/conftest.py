"""Real-browser fixtures: the app on a loopback port and a fresh headless Chromium profile."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
try:
    from playwright import sync_api as playwright_api
except ImportError:  # the test extra brings it; without it the browser tests skip
    playwright_api = None  # type: ignore[assignment]

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"),
    pytest.mark.skipif(playwright_api is None, reason="Playwright for Python is not installed"),
]


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    """The app served by a real HTTP server on a free loopback port."""
    from werkzeug.serving import make_server

    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        http.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page(tmp_path: Any) -> Iterator[Any]:
    """A fresh headless Chromium profile and page."""
    with playwright_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        context.set_default_timeout(15000)
        yield context.new_page()
        context.close()


def sign_in(page: Any, base: str, email: str) -> None:
    from tests.conftest import PASSWORD

    page.goto(f"{base}/signin")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    playwright_api.expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    # The heading can be drawn before the deferred script has run; a test that moves the page's
    # clock on next needs the script's timers already set.
    page.wait_for_load_state("load")


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    playwright_api.expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to riskhub")


def nav(page: Any, name: str) -> Any:
    """A link in the main navigation."""
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def answer_all(page: Any, template_side: str, yes: int = 0, value: str = "1") -> None:
    """Answer every question of the current form version, as a user clicking radios would."""
    from riskhub.assessments import load_catalogue

    template = load_catalogue().current(template_side)
    for n, item in enumerate(template.items):
        group = page.get_by_role("group", name=f"{n + 1}. {item.text}", exact=True)
        if template_side == "survivor":
            group.get_by_label("Yes" if n < yes else "No", exact=True).check()
        else:
            group.get_by_label(f"{value}: ", exact=False).first.check()
