"""Domain errors; the web layer maps them to HTTP status codes, the CLI to messages.

A refusal carries a code and parameters (`incidents.messages`), so each reader words it in its
own language; `str(exc)` and `.message` stay the English wording older callers read.
"""

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from incidents.messages import Message, coded, not_found


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class NotFound(DomainError):
    def __init__(self, what: str, ident: object) -> None:
        self.message = not_found(what, ident)
        super().__init__(str(self.message))
        self.what = what
        self.ident = ident


class Invalid(DomainError):
    """Input that parsed but breaks a rule; `field` names the offending field.

    `Invalid("ends_at", code="not_before", params={"other": "starts_at"})` is worded by the
    catalogue; a plain `message` (an older caller's English) is shown as it is."""

    def __init__(
        self,
        field: str,
        message: str | None = None,
        *,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        if code is not None:
            message = Message(code, {**(params or {}), "field": field}, message)
        elif message is None:
            raise ValueError("an Invalid has a message or a code")
        else:
            message = coded(field, message)  # a Message made elsewhere names this field
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message: str = message

    @property
    def problems(self) -> tuple[tuple[str, str], ...]:
        """Every refused field with its message: this one, or each part of an `Incomplete`.
        A coded message is a `Message` naming its field."""
        return ((self.field, self.message),)


class Incomplete(Invalid):
    """Several parts missing at once (a 复盘 not ready to publish), named together so nobody
    fixes one to learn of the next; `field` and `message` are the first."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        if not problems:
            raise ValueError("an Incomplete names at least one missing part")
        self._problems = tuple((field, coded(field, message)) for field, message in problems)
        super().__init__(*self._problems[0])
        self.args = ("; ".join(f"{field}: {message}" for field, message in problems),)

    @property
    def problems(self) -> tuple[tuple[str, str], ...]:
        return self._problems


class Forbidden(DomainError):
    """The caller is known but may not do this; `message` may be a coded Message."""

    @property
    def message(self) -> str:
        return self.args[0] if self.args and isinstance(self.args[0], str) else str(self)


def refuse_clearing(changes: Mapping[str, object], required: Collection[str]) -> None:
    """A PATCH may clear an optional field with null, never one of `required`."""
    for name, value in changes.items():
        if value is None and name in required:
            raise Invalid(name, code="cannot_clear")


class ConfigFileError(ValueError):
    """A file of the team's (grading policy, calendar) that cannot be used; the message names the
    file, the line and the problem, so start-up stops saying what to fix."""

    def __init__(self, source_name: str, line: int | None, problem: str) -> None:
        where = source_name if line is None else f"{source_name} line {line}"
        super().__init__(f"{where}: {problem}")
        self.source_name = source_name
        self.line = line
        self.problem = problem


def read_config_file(path: Path, error: type[ConfigFileError]) -> str:
    """The UTF-8 text of a team's file; `error` names the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(str(path), None, "not UTF-8 text") from exc
    except OSError as exc:
        raise error(str(path), None, f"cannot read: {exc.strerror or exc}") from exc
