"""Between HTML forms and the domain's models: text fields in, field-named errors out."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

from fastapi import Path
from pydantic import ValidationError
from starlette.datastructures import ImmutableMultiDict

from incidents.calendar import Calendar
from incidents.errors import Invalid
from incidents.messages import from_pydantic, join
from incidents.phrases import read_sentence, sentence_title

# Ids are PostgreSQL `integer` columns: a larger number in a path is a 422 page, not a failed
# query.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]

CHECKED = frozenset({"on", "true", "1", "yes"})
TRI_STATE = {"yes": True, "no": False}
# The longest sentence the 快速登记 box reads: a few lines of prose, not a pasted log (it travels
# in the URL of a GET, which reads and changes nothing).
SENTENCE_MAX = 500


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
    """The first problem of each field, coded (incidents.messages); its English is pydantic's
    words without their "Value error, "."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        errors.setdefault(field, from_pydantic(error))
    return errors


def invalid_errors(exc: Invalid) -> dict[str, str]:
    """Each refused field's message; several messages for one field are joined."""
    errors: dict[str, str] = {}
    for field, message in exc.problems:
        errors[field] = join(errors[field], message) if field in errors else message
    return errors


def sentence_form(
    text: str, calendar: Calendar, now: datetime
) -> tuple[ImmutableMultiDict, tuple[str, ...]]:
    """The filing form as the 快速登记 sentence fills it ("9/7 14:42 支付网关超时，失败订单 1,200
    笔，持续 25 分钟，已回滚"), read by incidents.phrases as the report importer reads, and the
    fields it filled, in the form's order of reading."""
    facts = read_sentence(text, tz=calendar.tz, reference=now)
    filled = {"title": title} if (title := sentence_title(text)) else {}
    filled |= {name: _form_text(value, calendar) for name, value in facts.values().items()}
    return ImmutableMultiDict(filled), tuple(filled)


def _form_text(value: object, calendar: Calendar) -> str:
    """A fact as the form's field holds it: times on the team's clock, yes/no, plain numbers."""
    match value:
        case bool():
            return "yes" if value else "no"
        case datetime():
            return f"{calendar.local(value):%Y-%m-%d %H:%M}"
        case Decimal():
            return f"{value:f}"
        case Enum():
            return str(value.value)
    return str(value)
