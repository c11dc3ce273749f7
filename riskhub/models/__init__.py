"""Tables, one module per aggregate. `create_app` imports them all (see `register_models`)."""


def register_models() -> None:
    """Import every model module so their tables are on the metadata."""
    from riskhub.models import (  # noqa: F401
        accounts,
        assessments,
        audit,
        cases,
        events,
        meetings,
        partnerships,
        referrals,
        sharing,
        submissions,
    )
    from riskhub.models.base import Model, encrypted_attributes

    # An encrypted attribute whose column is misnamed would silently store nothing: refuse.
    for mapper in Model.registry.mappers:
        for attribute in encrypted_attributes(mapper.class_):
            if attribute.column not in mapper.columns:
                raise TypeError(f"{mapper.class_.__name__}.{attribute.name} names a missing column {attribute.column}")
