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
    from riskhub.mail import SEND_ERRORS
    from riskhub.reminders import digests, send_reminders

    target = link or current_app.config["BASE_URL"].rstrip("/") + "/actions/mine"
    total = len(digests(days))
    if total == 0:
        click.echo("No actions are due: nothing sent")
        return
    try:
        with click.progressbar(length=total, label="Sending reminders", show_pos=True, file=sys.stderr) as bar:
            run = send_reminders(days, target, progress=bar.update)
    except SEND_ERRORS as error:
        raise click.ClickException(f"Could not reach the mail server: {error}") from None
    click.echo(f"Sent {run.sent} reminder digest{'s' if run.sent != 1 else ''}")
    if run.undelivered:
        click.echo(f"Not delivered to {len(run.undelivered)}: {', '.join(run.undelivered)} "
                   "(recorded as action.remind.undelivered in the access log)", err=True)
    if run.stopped:
        click.echo(f"Stopped early: {run.stopped}", err=True)
    if run.undelivered or run.stopped:
        sys.exit(1)
