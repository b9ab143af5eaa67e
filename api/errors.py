"""Domain errors and oversized bodies as HTTP answers: 4xx naming the field, never a 500."""

import json
import re

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from incidents.alerts.event import PayloadError, check_text
from incidents.errors import Forbidden, Invalid, NotFound


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(Invalid)
    async def invalid(request: Request, exc: Invalid) -> JSONResponse:
        # Shaped like FastAPI's own validation errors so clients read one format.
        # Every part an `Incomplete` names is an entry of its own, each on its field.
        detail = [
            {"loc": ["body", field], "msg": message, "type": "value_error"}
            for field, message in exc.problems
        ]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_403_FORBIDDEN)

    @app.exception_handler(IntegrityError)
    async def conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        # Two writers raced for the same unique value; the loser's transaction rolled back whole.
        return JSONResponse(
            {"detail": "conflicting concurrent change; nothing was written, try again"},
            status_code=status.HTTP_409_CONFLICT,
        )

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A value the database refuses although it passed validation: PostgreSQL stores no NUL
        # character in text, and a number may exceed a column's range. Bad input, so a 422; the
        # driver's message is not echoed, since it quotes the statement's parameters.
        detail = [
            {
                "loc": ["body"],
                "msg": "a value cannot be stored: no NUL characters, numbers within range",
                "type": "value_error",
            }
        ]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(OperationalError)
    async def unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        return JSONResponse(
            {"detail": "the database is unavailable or busy; nothing was written, try again"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )


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
                detail = [
                    {"loc": ["body", problem.field], "msg": problem.message, "type": "value_error"}
                ]
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
