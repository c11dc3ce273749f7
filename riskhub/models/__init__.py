"""Tables, one module per aggregate. `create_app` imports them all (see `register_models`)."""


def register_models() -> None:
    """Import every model module so their tables are on the metadata."""
    from riskhub.models import accounts, assessments, audit, cases, events, referrals  # noqa: F401
