"""Templates, static files and the HTML answers of the pages, errors included.

Every template is autoescaped, and the Content-Security-Policy allows only this site's own
script and stylesheet, so user text such as an incident titled `<script>` can only ever show as
text. Errors a page can meet (not signed in, too low a role, an unknown id, a malformed query)
answer as pages, never as the JSON of the API.
"""

import hashlib
from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.web.auth import PageForbidden, SignInRequired, can_write, sign_in_url
from api.web.i18n import LANG_COOKIE, LANGS, WORDS, Lang, enum_word, field_label, page_lang
from incidents.calendar import Calendar
from incidents.errors import Forbidden, Invalid, NotFound
from incidents.messages import Message, from_pydantic, grade_reason_text, hit_lines, join_all

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _static_versions() -> dict[str, str]:
    """A content hash per static file, so a new release is never served from a stale cache."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC_DIR.iterdir()
        if path.suffix in STATIC_TYPES
    }


STATIC_VERSIONS = _static_versions()


def static_url(name: str) -> str:
    return f"/static/{name}?v={STATIC_VERSIONS[name]}"


def _local_time(moment: datetime | None, calendar: Calendar, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if moment is None else calendar.local(moment).strftime(fmt)


def _percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}".removesuffix(".0")


def _yuan(amount: Decimal | None) -> str:
    return "—" if amount is None else f"¥{amount:,.2f}"


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["percent"] = _percent
templates.filters["minutes"] = _minutes
templates.filters["yuan"] = _yuan
templates.globals["static_url"] = static_url


def with_lang(request: Request, lang: str) -> str:
    """The current page's address with `lang` switched, other query parameters kept."""
    query = request.query_params.multi_items()
    kept = [(key, value) for key, value in query if key != "lang"] + [("lang", lang)]
    return request.url.path + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in kept)


def worded(value: object, lang: Lang) -> object:
    """Coded messages in a page's context worded in its language: a Message itself, or the
    values of a dict of them (a form's `errors`, field to message). Plain text stays as it is."""
    if isinstance(value, Message):
        return value.text(lang, field_label(lang))
    if isinstance(value, dict) and any(isinstance(item, Message) for item in value.values()):
        return {key: worded(item, lang) for key, item in value.items()}
    return value


def _grade_reason(lang: Lang) -> Callable[[Any], str]:
    """An incident's grade reason in the page's language, from its rule hits when it has them."""
    return lambda incident: grade_reason_text(
        incident.grade, incident.grade_hits, incident.grade_reason, lang
    )


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    lang = page_lang(request)
    words = WORDS[lang]
    context = {key: worded(value, lang) for key, value in (context or {}).items()}
    settings = request.app.state.settings
    calendar = request.app.state.calendar
    actor = getattr(request.state, "actor", None)
    html = templates.get_template(name).render(
        request=request,
        lang=lang,
        t=words,
        word=lambda value: enum_word(words, value),
        local=lambda moment, fmt="%Y-%m-%d %H:%M": _local_time(moment, calendar, fmt),
        actor=actor,
        can_write=can_write(actor),
        csrf=getattr(request.state, "csrf", ""),
        lang_urls={code: with_lang(request, code) for code in LANGS},
        path=request.url.path,
        follow_up_minutes=settings.follow_up_minutes,
        today=calendar.today(),
        grade_reason=_grade_reason(lang),
        grade_lines=lambda grade, hits: hit_lines(grade, hits, lang),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") in LANGS and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, httponly=True, samesite="lax"
        )
    return response


def see_other(url: str) -> RedirectResponse:
    """The redirect of POST-redirect-GET: a reload never posts the form again."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """`message` may be a coded Message: it is worded in the page's language."""
    return render(request, "error.html", {"title": title, "message": message}, status=status)


class PageRoute(APIRoute):
    """Answers a page's failures as pages: sign-in redirect, 403, 404, 422."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return see_other(sign_in_url(exc.next_url))
            except PageForbidden as exc:
                words = WORDS[page_lang(request)]
                role = words[f"role_{exc.role.value}"] if exc.role else ""
                message = words[exc.reason].format(role=role)
                return error_page(request, 403, words.forbidden, message)
            except Forbidden as exc:
                return error_page(request, 403, WORDS[page_lang(request)].forbidden, exc.message)
            except NotFound as exc:
                return error_page(request, 404, WORDS[page_lang(request)].not_found, exc.message)
            except Invalid as exc:
                return error_page(
                    request, 422, WORDS[page_lang(request)].bad_request, invalid_message(exc)
                )
            except RequestValidationError as exc:
                message = join_all([_located(error) for error in exc.errors()])
                return error_page(request, 422, WORDS[page_lang(request)].bad_request, message)

        return page_handler


def invalid_message(exc: Invalid) -> str:
    """An Invalid's every problem as one message for a page, worded in its language by render():
    coded ones name their field in their own words, plain ones are prefixed with it."""
    return join_all(
        [
            message if isinstance(message, Message) else f"{field}: {message}"
            for field, message in exc.problems
        ]
    )


def _located(error: Any) -> Message:
    """A malformed query's error; in English prefixed by where it is, as pydantic words it."""
    message = from_pydantic(error)
    where = ".".join(str(part) for part in error["loc"])
    return Message(message.code, message.params, f"{where}: {message}")
