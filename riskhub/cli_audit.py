"""`riskhub audit ...` (checkpoint, verify, public-key) and `riskhub purge`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident access log: signed checkpoints and verification."""


def _write_or_print(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text + "\n")
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text)


@audit_group.command("checkpoint")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="also write the JSON to this file")
@with_appcontext
def checkpoint_command(output: str | None) -> None:
    """Sign a checkpoint at the chain's current end and print it as JSON, for storage elsewhere."""
    from riskhub import audit
    from riskhub.extensions import db
    from riskhub.operations import audit_checkpoints as checkpoints

    try:
        key = checkpoints.load_signing_key()
        checkpoint = checkpoints.checkpoint_now(audit.SYSTEM)
    except checkpoints.SigningKeyError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    _write_or_print(json.dumps(checkpoints.export(checkpoint, key.public_key()), indent=2), output)


@audit_group.command("public-key")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="write the PEM to this file")
@with_appcontext
def public_key_command(output: str | None) -> None:
    """Print the public key that checks checkpoint signatures (safe to publish)."""
    from riskhub.operations import audit_checkpoints as checkpoints

    try:
        key = checkpoints.load_signing_key().public_key()
    except checkpoints.SigningKeyError as error:
        raise click.ClickException(str(error)) from None
    _write_or_print(checkpoints.public_key_pem(key).strip(), output)


def _read_exported(paths: tuple[str, ...], keys: dict[str, Any]) -> list[Any]:
    from riskhub.operations.audit_checkpoints import from_export

    pinned = []
    for path in paths:
        try:
            pinned.append(from_export(json.loads(Path(path).read_text()), keys))
        except (OSError, ValueError) as error:
            raise click.ClickException(f"{path} cannot be read as an exported checkpoint: {error}") from None
    return pinned


@audit_group.command("verify")
@click.option("--against", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="an exported checkpoint file kept elsewhere (repeatable)")
@click.option("--public-key", "public_keys", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="also trust this public key (PEM), e.g. one used before the signing key was replaced")
@with_appcontext
def verify_command(against: tuple[str, ...], public_keys: tuple[str, ...]) -> None:
    """Walk the whole chain and its checkpoints; name the first broken entry; exit 1 on any problem."""
    from riskhub import audit
    from riskhub.extensions import db
    from riskhub.operations import audit_checkpoints as checkpoints
    from riskhub.operations import audit_verify

    keys = audit_verify._application_keys()
    keys.update(audit_verify.as_keys(checkpoints.load_public_key(Path(p).read_text()) for p in public_keys))
    external = _read_exported(against, keys)
    bar: list[Any] = []

    def start(total: int) -> None:
        bar.append(click.progressbar(length=total, label="Verifying the access log", show_pos=True,
                                     file=sys.stderr))
        bar[0].__enter__()

    try:
        result = audit_verify.verify(lambda n: bar[0].update(n), keys=keys, external=external, start=start)
    finally:
        if bar:
            bar[0].__exit__(None, None, None)
    try:
        audit_verify.record_verification(result, audit.SYSTEM)
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - a damaged log must not hide the verdict below
        db.session.rollback()
        click.echo(f"warning: the verification could not be added to the log: {type(error).__name__}", err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.problem:
        click.echo(f"BROKEN: entry {result.problem.seq} {result.problem.reason}", err=True)
        click.echo(f"{result.entries} entries verified before the break; {result.checkpoints} checkpoints",
                   err=True)
        sys.exit(1)
    last = f", last at entry {result.last_checkpoint}" if result.last_checkpoint else ""
    click.echo(f"Access log intact: {result.entries} entries, {result.checkpoints} signed checkpoints{last}"
               f"{', ' + str(len(external)) + ' exported checkpoints matched' if external else ''}")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="list the cases past retention; change nothing")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def purge_command(dry_run: bool, yes: bool) -> None:
    """Irreversibly remove the personal content of cases past their retention period."""
    from riskhub import audit
    from riskhub.extensions import db
    from riskhub.operations import retention

    due = retention.cases_past_retention()
    if not due:
        click.echo("No cases are past their retention period.")
        return
    for item in due:
        click.echo(f"{item.reference}  {item.status} since {item.since:%Y-%m-%d}  ({item.days} days)")
    if dry_run:
        click.echo(f"{len(due)} case(s) would be purged (dry run: nothing changed).")
        return
    if not yes:
        click.confirm(f"Irreversibly remove the personal content of these {len(due)} case(s)?", abort=True)
    for item in due:
        retention.purge_case(item.case_id, actor=audit.SYSTEM)
        db.session.commit()
    click.echo(f"Purged {len(due)} case(s); the access log records each purge.")


AUDIT_COMMANDS = (audit_group, purge_command)


def ensure_signing_key(instance: Path) -> None:
    """For `riskhub init`: write the checkpoint signing key if none is configured or present."""
    import os

    from riskhub.operations.audit_checkpoints import generate_key_file

    if os.environ.get("RISKHUB_AUDIT_SIGNING_KEY"):
        return
    path = Path(os.environ.get("RISKHUB_AUDIT_SIGNING_KEY_FILE") or instance / "audit-signing.key")
    if not path.exists():
        generate_key_file(path)
        click.echo(f"Wrote {path} (mode 0600): the key that signs access-log checkpoints; keep it apart "
                   "from the database")
