"""Outgoing mail through the configured SMTP server (reminder digests, agendas)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from flask import current_app

# What a send can fail with: the server unreachable, refusing, or dropping the connection.
SEND_ERRORS = (OSError, smtplib.SMTPException)


@contextmanager
def smtp_session() -> Iterator[smtplib.SMTP]:
    """A connection to SMTP_HOST:SMTP_PORT, with STARTTLS and login when configured."""
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=30) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        yield smtp


def plain_message(to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message from SMTP_FROM."""
    message = EmailMessage()
    message["From"] = current_app.config["SMTP_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message
