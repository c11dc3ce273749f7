"""`riskhub remind`: email each action owner a digest of what is due."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("remind")
@click.option("--days", default=7, show_default=True, type=click.IntRange(0, 365),
              help="include actions due within this many days (and all overdue ones)")
@click.option("--link", default=None, help="address of riskhub to put in the mail (default: RISKHUB_BASE_URL)")
@with_appcontext
def remind_command(days: int, link: str | None) -> None:
    """Send reminder digests of due and overdue safety actions by email."""
    from riskhub.reminders import digests, send_reminders

    target = link or current_app.config["BASE_URL"].rstrip("/") + "/actions/mine"
    total = len(digests(days))
    if total == 0:
        click.echo("No actions are due: nothing sent")
        return
    with click.progressbar(length=total, label="Sending reminders", show_pos=True, file=sys.stderr) as bar:
        sent = send_reminders(days, target, progress=bar.update)
    click.echo(f"Sent {sent} reminder digest{'s' if sent != 1 else ''}")
