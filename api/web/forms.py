"""Between HTML forms and the domain's models: text fields in, field-named errors out."""

from collections.abc import Iterable, Mapping
from typing import Annotated

from fastapi import Path
from pydantic import ValidationError

from incidents.errors import Invalid

# Ids are PostgreSQL `integer` columns: a larger number in a path is a 422 page, not a failed
# query.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]

CHECKED = frozenset({"on", "true", "1", "yes"})
TRI_STATE = {"yes": True, "no": False}


def given(form: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The fields filled in, stripped; an empty field is a field not given."""
    values = {}
    for name in names:
        raw = form.get(name)
        if raw is not None and raw.strip():
            values[name] = raw.strip()
    return values


def checked(form: Mapping[str, str], name: str) -> bool:
    return form.get(name, "").lower() in CHECKED


def tri_state(form: Mapping[str, str], name: str) -> bool | None:
    """A select of "" (let the domain decide), "yes" and "no"."""
    return TRI_STATE.get(form.get(name, ""))


def field_errors(exc: ValidationError) -> dict[str, str]:
    """The first problem of each field, as pydantic words it, without its "Value error, "."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        errors.setdefault(field, error["msg"].removeprefix("Value error, "))
    return errors


def invalid_errors(exc: Invalid) -> dict[str, str]:
    """Each refused field's message; several messages for one field are joined."""
    errors: dict[str, str] = {}
    for field, message in exc.problems:
        errors[field] = f"{errors[field]}; {message}" if field in errors else message
    return errors
