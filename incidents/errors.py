"""Domain errors; the web layer maps them to HTTP status codes, the CLI to messages."""

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path


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

    @property
    def problems(self) -> tuple[tuple[str, str], ...]:
        """Every refused field with its message: this one, or each part of an `Incomplete`."""
        return ((self.field, self.message),)


class Incomplete(Invalid):
    """Several parts missing at once (a 复盘 not ready to publish), named together so nobody
    fixes one to learn of the next; `field` and `message` are the first."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        if not problems:
            raise ValueError("an Incomplete names at least one missing part")
        super().__init__(*problems[0])
        self.args = ("; ".join(f"{field}: {message}" for field, message in problems),)
        self._problems = tuple(problems)

    @property
    def problems(self) -> tuple[tuple[str, str], ...]:
        return self._problems


class Forbidden(DomainError):
    """The caller is known but may not do this."""


def refuse_clearing(changes: Mapping[str, object], required: Collection[str]) -> None:
    """A PATCH may clear an optional field with null, never one of `required`."""
    for name, value in changes.items():
        if value is None and name in required:
            raise Invalid(name, "cannot be cleared")


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
