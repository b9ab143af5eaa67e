"""What happens around every post of a page form, before and after its route.

`IdempotentFormPosts`: the pages' script gives every form a random `form_key` when it is shown. A
post carrying one claims the digest of key and body (`incidents.form_keys`); an identical second
post (a double click, a retry after a flaky network) is led to the first one's result instead of
filing twice. A successful post also sets the `stabilog_done` cookie to its key, which tells the
script that the draft it kept of that form may go.

`PageErrors`: a page form over the body limit, or any other error answered beneath the pages'
own handling, answers as a page, not with the API's JSON.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from anyio import to_thread
from fastapi import Request, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.web.i18n import WORDS, page_lang
from api.web.rendering import error_page, see_other
from incidents import form_keys

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FORM_KEY_FIELD = "form_key"
DONE_COOKIE = "stabilog_done"
# How long an identical post waits for the first one's result before being told to try again.
WAIT_SECONDS = 15.0
POLL_SECONDS = 0.1
UNPAGED_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json")


def is_page_post(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and not scope["path"].startswith(UNPAGED_PREFIXES)
        and scope["path"] not in ("/login", "/logout")
    )


def _form_key(body: bytes) -> str:
    values = parse_qs(body.decode("utf-8", errors="replace")).get(FORM_KEY_FIELD, [])
    key = values[0] if values else ""
    # The script makes 32 hex digits; anything else is not a key this site made.
    return key if 16 <= len(key) <= 64 and key.isascii() and key.isalnum() else ""


def _result(status: int, headers: list[tuple[bytes, bytes]]) -> str | None:
    """Where a post led, when it succeeded: the redirect of POST-redirect-GET. A redirect to the
    sign-in form is no result: the post did nothing."""
    if status != 303:
        return None
    location = dict(headers).get(b"location", b"").decode("latin-1")
    return None if not location or location.startswith("/login") else location


class IdempotentFormPosts:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_page_post(scope):
            await self.app(scope, receive, send)
            return
        # The body-size middleware in front has read the body and hands it over whole.
        message = await receive()
        body = message.get("body", b"") if message["type"] == "http.request" else b""
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return message
            return await receive()

        key = _form_key(body)
        if not key or message.get("more_body"):
            await self.app(scope, replay, send)
            return
        engine: Engine = scope["app"].state.engine
        digest = form_keys.digest_of(key, scope["path"], body)
        claim = await self._claim(engine, digest, scope["path"])
        if not claim.claimed:
            claim = await self._wait_for_first(engine, digest, scope["path"], claim)
        if claim.claimed:
            await self._act(scope, replay, send, engine, digest, key)
        else:
            await self._lead_to_first(scope, replay, send, claim.location, key)

    async def _act(
        self, scope: Scope, receive: Receive, send: Send, engine: Engine, digest: str, key: str
    ) -> None:
        """Run the route; keep where it led, or let go of the claim when it led nowhere."""
        seen: dict[str, Any] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                location = _result(message["status"], list(message.get("headers", [])))
                seen["location"] = location
                if location is not None:
                    message["headers"] = [*message.get("headers", []), _done_cookie(key)]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            await to_thread.run_sync(self._finish, engine, digest, seen.get("location"))

    async def _wait_for_first(
        self, engine: Engine, digest: str, path: str, claim: form_keys.Claim
    ) -> form_keys.Claim:
        """The first post's result once it has one; a claim of our own if it let go (it failed,
        so this one acts); the unfinished claim when the wait is over."""
        deadline = time.monotonic() + WAIT_SECONDS
        while claim.location is None and not claim.claimed and time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            claim = await self._claim(engine, digest, path)
        return claim

    @staticmethod
    async def _lead_to_first(
        scope: Scope, receive: Receive, send: Send, location: str | None, key: str
    ) -> None:
        request = Request(scope, receive)
        response: Response
        if location is None:
            words = WORDS[page_lang(request)]
            response = error_page(request, 409, words.form_busy_title, words.form_busy)
        else:
            response = see_other(location)
            response.raw_headers.append(_done_cookie(key))
        await response(scope, receive, send)

    async def _claim(self, engine: Engine, digest: str, path: str) -> form_keys.Claim:
        def run() -> form_keys.Claim:
            with Session(engine) as session:
                claim = form_keys.claim(session, digest, path)
                session.commit()
                return claim

        return await to_thread.run_sync(run)

    @staticmethod
    def _finish(engine: Engine, digest: str, location: str | None) -> None:
        with Session(engine) as session:
            form_keys.finish(session, digest, location)
            session.commit()


def _done_cookie(key: str) -> tuple[bytes, bytes]:
    # Read by the pages' script (so not HttpOnly); it names a key, which grants nothing.
    return (b"set-cookie", f"{DONE_COOKIE}={key}; Max-Age=300; Path=/; SameSite=Strict".encode())


# The JSON errors answered beneath the pages' own handling, with the words a page shows instead.
PAGE_ERROR_WORDS = {
    404: ("not_found", "page_not_found"),
    409: ("page_conflict_title", "page_conflict"),
    413: ("body_too_large_title", "body_too_large"),
    503: ("page_unavailable_title", "page_unavailable"),
}
FALLBACK_WORDS = ("page_failed_title", "page_failed")


def is_page_request(scope: Scope) -> bool:
    """A browser asking for a page, or posting a page's form; the pages' scripts ask for JSON."""
    if is_page_post(scope):
        return True
    accept = dict(scope.get("headers", [])).get(b"accept", b"")
    return (
        scope["type"] == "http"
        and scope["method"] == "GET"
        and b"text/html" in accept
        and not scope["path"].startswith(UNPAGED_PREFIXES)
    )


class PageErrors:
    """Answers as a page what would reach a browser's page request as the API's JSON: a body
    over the limit (413, from the body-size middleware), a conflicting concurrent change (409),
    the database busy (503), a value the database refuses (422). The API keeps its JSON.

    The pages' script refuses an oversized form before sending it; the 413 page is the answer
    when it could not (no script). What was typed is in the browser's draft of the form.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_page_request(scope):
            await self.app(scope, receive, send)
            return
        refused: int | None = None

        async def watch(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                if message["status"] >= 400 and kind.startswith(b"application/json"):
                    refused = message["status"]
                    return
            if refused is not None:
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    await self._page(scope, receive, send, refused)
                return
            await send(message)

        await self.app(scope, receive, watch)

    @staticmethod
    async def _page(scope: Scope, receive: Receive, send: Send, status: int) -> None:
        request = Request(scope, receive)
        words = WORDS[page_lang(request)]
        title, message = PAGE_ERROR_WORDS.get(status, FALLBACK_WORDS)
        limit = scope["app"].state.settings.max_body_bytes
        text = words[message].format(limit=f"{limit / 1_048_576:g} MiB", status=status)
        response = error_page(request, status, words[title], text)
        await response(scope, receive, send)
