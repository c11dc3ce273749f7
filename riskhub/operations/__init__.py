"""What riskhub does. Views and the CLI both call these; they flush, the caller commits once."""


class OperationError(Exception):
    """A request the rules refuse; the message is safe to show the user who asked."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(OperationError):
    """The record changed since the user loaded it; their edit was not applied."""
