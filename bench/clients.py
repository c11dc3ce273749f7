"""Signed-in clients: the CSRF token from the sign-in page, then the session cookie.

Only 127.0.0.1 is ever contacted. Redirects are not followed, so a refused sign-in shows.
"""

from __future__ import annotations

import http.client
import re
import urllib.parse
from dataclasses import dataclass

_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
COOKIE_NAME = "riskhub_session"


@dataclass(frozen=True)
class Session:
    """What a signed-in browser holds: its cookie, and a CSRF token that goes with it."""

    cookie: str
    csrf: str


def _get(port: int, path: str, cookie: str = "") -> tuple[int, str, str]:
    """GET a page; return (status, body, the session cookie it set or the one sent)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body, _cookie_from(response) or cookie


def _cookie_from(response: http.client.HTTPResponse) -> str:
    for header in response.headers.get_all("Set-Cookie") or []:
        if header.startswith(COOKIE_NAME + "="):
            return header.split(";", 1)[0]
    return ""


def anonymous(port: int) -> Session:
    """A browser on the sign-in page: the cookie and token a sign-in POST needs."""
    status, body, cookie = _get(port, "/signin")
    match = _CSRF.search(body)
    if status != 200 or not match or not cookie:
        raise RuntimeError(f"sign-in page did not give a form (status {status})")
    return Session(cookie, match.group(1))


def signin_body(session: Session, email: str, password: str) -> str:
    return urllib.parse.urlencode({"csrf_token": session.csrf, "email": email, "password": password})


def sign_in(port: int, email: str, password: str, form_page: str = "/cases/new") -> Session:
    """Sign in; then load a page with a form for the token POSTs will carry."""
    before = anonymous(port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/signin", body=signin_body(before, email, password),
                 headers={"Cookie": before.cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    conn.close()
    cookie = _cookie_from(response)
    if response.status != 302 or not cookie:
        raise RuntimeError(f"sign-in as {email} was refused (status {response.status})")
    status, body, cookie = _get(port, form_page, cookie)
    match = _CSRF.search(body)
    if status != 200 or not match:
        raise RuntimeError(f"{form_page} gave status {status} after signing in as {email}")
    return Session(cookie, match.group(1))


def check(port: int, path: str, session: Session, expected: int = 200) -> str:
    """Fetch once before measuring, so a wrong setup fails loudly instead of timing errors."""
    status, body, _ = _get(port, path, session.cookie)
    if status != expected:
        raise RuntimeError(f"GET {path} gave {status}, expected {expected}")
    return body


def throttled_after_failures(port: int, attempts: int = 7) -> bool:
    """Wrong passwords for one (non-existent) account: the sign-in page must start refusing."""
    for _ in range(attempts):
        page = anonymous(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/signin", body=signin_body(page, "nobody@bench.riskhub.test", "wrong-password-123"),
                     headers={"Cookie": page.cookie, "Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
        if "Too many failed attempts" in text:
            return True
    return False
