"""Domain errors; the web layer maps them to HTTP status codes, the CLI to messages."""

from collections.abc import Collection, Mapping


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class NotFound(DomainError):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} not found")
        self.what = what
        self.ident = ident


class Invalid(DomainError):
    """Input that parsed but breaks a rule; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Forbidden(DomainError):
    """The caller is known but may not do this."""


def refuse_clearing(changes: Mapping[str, object], required: Collection[str]) -> None:
    """A PATCH may clear an optional field with null, never one of `required`."""
    for name, value in changes.items():
        if value is None and name in required:
            raise Invalid(name, "cannot be cleared")
