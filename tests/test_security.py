"""Security headers on every response, CSRF on every form, and templates that a strict CSP can serve."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from riskhub.extensions import db
from riskhub.models.accounts import Agency

PASSWORD = "correct-horse-battery-7"
TEMPLATES = Path(__file__).resolve().parent.parent / "riskhub" / "templates"
_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_from(client: FlaskClient, url: str, **kwargs: Any) -> str:
    """Load a page and return its CSRF token."""
    match = _CSRF.search(client.get(url, **kwargs).get_data(as_text=True))
    assert match, f"{url} has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, **kwargs: Any) -> None:
    """Sign in through the form."""
    token = csrf_from(client, "/signin", **kwargs)
    response = client.post("/signin", data={"email": email, "password": PASSWORD, "csrf_token": token}, **kwargs)
    assert response.status_code == 302


def assert_strict_headers(response: Any, where: str) -> None:
    """The headers every response carries."""
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp, where
    assert "script-src 'self'" in csp and "style-src 'self'" in csp, where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert "frame-ancestors 'none'" in csp, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "no-referrer", where


# Headers ------------------------------------------------------------------------------------


def test_headers_on_every_kind_of_response(client: FlaskClient, people: dict[str, Any]) -> None:
    """Pages, redirects, static files, the health check and error pages all carry the headers."""
    anonymous = {
        "sign-in page": client.get("/signin"),
        "redirect to sign-in": client.get("/"),
        "static file": client.get("/static/riskhub.css"),
        "health check": client.get("/health"),
        "refused form": client.post("/signin", data={}),
    }
    sign_in(client, "idva@example.org")
    signed_in = {
        "dashboard": client.get("/"),
        "case list": client.get("/cases/"),
        "403 page": client.get("/admin/"),
        "404 page": client.get("/no/such/page"),
        "405 page": client.get("/signout"),
    }
    for where, response in {**anonymous, **signed_in}.items():
        assert_strict_headers(response, where)
        assert "Strict-Transport-Security" not in response.headers, where


def test_hsts_only_over_https(client: FlaskClient, people: dict[str, Any]) -> None:
    """HSTS is sent on https responses, signed in or not, and never over plain http."""
    https = {"base_url": "https://localhost"}
    assert "max-age=" in client.get("/signin", **https).headers["Strict-Transport-Security"]
    sign_in(client, "idva@example.org", **https)
    response = client.get("/", **https)
    assert response.status_code == 200
    assert_strict_headers(response, "dashboard over https")
    assert "includeSubDomains" in response.headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/health").headers


@pytest.mark.parametrize("email, paths", [
    ("idva@example.org", ["/", "/cases/", "/cases/new", "/admin/", "/no/such/page"]),
    ("admin@example.org", ["/", "/admin/", "/admin/users", "/admin/users/new", "/admin/agencies/new"]),
])
def test_signed_in_pages_are_never_cached(client: FlaskClient, people: dict[str, Any], email: str,
                                          paths: list[str]) -> None:
    """Every page a signed-in user sees (error pages too) says Cache-Control: no-store."""
    sign_in(client, email)
    for path in paths:
        response = client.get(path)
        assert "no-store" in response.headers.get("Cache-Control", ""), path
        assert_strict_headers(response, path)


def test_sign_in_page_is_never_cached(client: FlaskClient) -> None:
    """The sign-in page carries a CSRF token, so it is not cached either."""
    assert "no-store" in client.get("/signin").headers["Cache-Control"]


# CSRF ---------------------------------------------------------------------------------------


def test_csrf_protection_is_on_in_tests(app: Flask) -> None:
    """The suite runs with CSRF protection on, as production does."""
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.config.get("WTF_CSRF_CHECK_DEFAULT", True) is True


def _agency_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Agency)) or 0


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_form_post_without_a_valid_token_changes_nothing(app: Flask, client: FlaskClient,
                                                         people: dict[str, Any], token: str | None) -> None:
    """An admin form posted without its token (or with a forged one) is refused with 400; nothing is added."""
    sign_in(client, "admin@example.org")
    before = _agency_count(app)
    data = {"name": "Forged Agency", "kind": "police", "active": "y"}
    if token:
        data["csrf_token"] = token
    response = client.post("/admin/agencies/new", data=data)
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert _agency_count(app) == before
    # the same form with its token works, so the refusal above was the token
    data["csrf_token"] = csrf_from(client, "/admin/agencies/new")
    assert client.post("/admin/agencies/new", data=data).status_code == 302
    assert _agency_count(app) == before + 1


def test_sign_out_without_a_token_leaves_the_user_signed_in(client: FlaskClient, people: dict[str, Any]) -> None:
    """A cross-site POST to /signout cannot sign anyone out."""
    sign_in(client, "idva@example.org")
    assert client.post("/signout").status_code == 400
    assert client.get("/").status_code == 200


def test_sign_in_without_a_token_does_not_sign_in(client: FlaskClient, people: dict[str, Any]) -> None:
    """The sign-in form needs its token too (no login CSRF)."""
    response = client.post("/signin", data={"email": "idva@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_forms_work_over_https_without_a_referer(client: FlaskClient, people: dict[str, Any]) -> None:
    """Pages send no Referer (Referrer-Policy: no-referrer), so https forms must not depend on one."""
    https = {"base_url": "https://localhost"}
    sign_in(client, "admin@example.org", **https)
    token = csrf_from(client, "/admin/agencies/new", **https)
    response = client.post("/admin/agencies/new", data={"name": "Over Https", "kind": "health",
                                                         "csrf_token": token}, **https)
    assert response.status_code == 302


def _templates() -> list[Path]:
    found = sorted(TEMPLATES.rglob("*.html"))
    assert found, "no templates found"
    return found


def test_every_post_form_in_the_templates_carries_a_csrf_token() -> None:
    """Each <form method="post"> in riskhub/templates includes the CSRF token field."""
    form = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)
    missing = []
    for path in _templates():
        for match in form.finditer(path.read_text()):
            if "csrf_token" not in match.group(1):
                missing.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)[:80]}")
    assert not missing, missing


# Templates a strict CSP can serve -----------------------------------------------------------


def test_templates_have_no_inline_script_or_style() -> None:
    """No inline <script>, <style> blocks, style= attributes or on*= handlers: the CSP would block them."""
    patterns = {
        "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
        "style block": re.compile(r"<style\b", re.I),
        "style attribute": re.compile(r"\sstyle\s*=", re.I),
        "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
        "javascript: URL": re.compile(r"javascript:", re.I),
    }
    problems = [
        f"{path.relative_to(TEMPLATES)}: {kind}"
        for path in _templates()
        for kind, pattern in patterns.items()
        if pattern.search(path.read_text())
    ]
    assert not problems, problems
