"""Domain errors and oversized bodies as HTTP answers: 4xx naming the field, never a 500.

Every refusal carries its `code` (and `params`) from `incidents.messages`; its `msg` is worded in
the language `Accept-Language` prefers: Chinese when a zh tag is preferred, English otherwise (an
API client that asks for nothing gets the English it always had).
"""

import json
import re
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from api.web.i18n import field_label
from incidents.alerts.event import PayloadError, check_text
from incidents.errors import Forbidden, Invalid, NotFound
from incidents.messages import Lang, Message, from_pydantic

UNCODED = "invalid"  # the code of a refusal still worded as plain English text


def accepted_lang(header: str | None) -> Lang:
    """zh when the most preferred language of an Accept-Language header is Chinese, else en;
    of equal weights the first listed is preferred."""
    preferred: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, weight = item.strip().partition(";")
        try:
            quality = float(weight.strip().removeprefix("q=")) if weight else 1.0
        except ValueError:
            continue
        if tag and quality > 0:
            preferred.append((quality, -position, tag.strip().lower()))
    return "zh" if preferred and max(preferred)[2].startswith("zh") else "en"


def request_lang(request: Request) -> Lang:
    return accepted_lang(request.headers.get("accept-language"))


def worded(message: str, lang: Lang) -> dict[str, Any]:
    """A refusal's msg in `lang` with its code and parameters."""
    if isinstance(message, Message):
        text = message.text(lang, field_label(lang))
        return {"msg": text, "code": message.code, "params": message.json_params()}
    return {"msg": message, "code": UNCODED, "params": {}}


def _refusal(request: Request, message: str, status_code: int) -> JSONResponse:
    """A refusal of the whole request: its words as `detail`, beside its code."""
    words = worded(message, request_lang(request))
    body = {"detail": words["msg"], "code": words["code"], "params": words["params"]}
    return JSONResponse(body, status_code=status_code)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _refusal(request, exc.message, status.HTTP_404_NOT_FOUND)

    @app.exception_handler(Invalid)
    async def invalid(request: Request, exc: Invalid) -> JSONResponse:
        # Shaped like FastAPI's own validation errors so clients read one format.
        # Every part an `Incomplete` names is an entry of its own, each on its field.
        lang = request_lang(request)
        detail = [
            {"loc": ["body", field], "type": "value_error", **worded(message, lang)}
            for field, message in exc.problems
        ]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(RequestValidationError)
    async def unreadable(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer, each error given our code and, asked for Chinese, Chinese words.
        lang = request_lang(request)
        detail = []
        for error in exc.errors():
            message = from_pydantic(error)
            entry = {**error, "code": message.code, "params": message.json_params()}
            if lang != "en":
                entry["msg"] = message.text(lang, field_label(lang))
            detail.append(entry)
        return JSONResponse(
            {"detail": jsonable_encoder(detail)},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return _refusal(request, exc.message, status.HTTP_403_FORBIDDEN)

    @app.exception_handler(IntegrityError)
    async def conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        # Two writers raced for the same unique value; the loser's transaction rolled back whole.
        return _refusal(request, Message("conflict"), status.HTTP_409_CONFLICT)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A value the database refuses although it passed validation: PostgreSQL stores no NUL
        # character in text, and a number may exceed a column's range. Bad input, so a 422; the
        # driver's message is not echoed, since it quotes the statement's parameters.
        message = Message("unstorable")
        detail = [
            {"loc": ["body"], "type": "value_error", **worded(message, request_lang(request))}
        ]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(OperationalError)
    async def unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        answer = _refusal(request, Message("unavailable"), status.HTTP_503_SERVICE_UNAVAILABLE)
        answer.headers["Retry-After"] = "1"
        return answer


class BodySizeLimit:
    """Refuses a body over the limit with 413 before the application sees any of it.

    The body is read here (it is small by definition) and replayed to the application, so a
    chunked upload without Content-Length is bounded as well as a declared one.
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the application see the disconnect
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send) -> None:
        response = JSONResponse(
            {"detail": f"request body larger than {self.max_bytes} bytes"},
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
        )
        await response(scope, receive, send)


# The JSON escapes that decode to text no database, template or JSON answer can hold.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")


class RefuseUnstorableText:
    """Refuses with 422 a JSON body whose strings hold NUL or an unpaired UTF-16 surrogate.

    JSON may spell both (`\\u0000`, `\\ud800`) and Python decodes them into a str; PostgreSQL
    refuses NUL, and a lone surrogate is stored by SQLite but then cannot be encoded into any
    answer, so every later list showing it would fail. Only bodies holding such an escape are
    decoded a second time here. Webhook bodies are left to their parsers, which check the same
    after authenticating the sender.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or "/webhooks/" in scope["path"]:
            await self.app(scope, receive, send)
            return
        # The body-size middleware in front has read the body and hands it over whole.
        message = await receive()
        body = message.get("body", b"") if message["type"] == "http.request" else b""
        if not message.get("more_body") and _UNSTORABLE_ESCAPE.search(body):
            problem = _unstorable(body)
            if problem is not None:
                lang = accepted_lang(
                    dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
                )
                words = worded(problem.message, lang)
                detail = [{"loc": ["body", problem.field], "type": "value_error", **words}]
                response = JSONResponse(
                    {"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
                )
                await response(scope, receive, send)
                return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return message
            return await receive()

        await self.app(scope, replay, send)


def _unstorable(body: bytes) -> PayloadError | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None  # not JSON: the route answers for that
    try:
        check_text(data, "")
    except PayloadError as problem:
        return problem
    return None
