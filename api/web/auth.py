"""Who is using the pages: the API token in a cookie, resolved exactly as `api.deps` does.

Signing in posts a token from `stabilog token create`; it is kept in an HttpOnly, SameSite=Strict
cookie (Secure over https), so page scripts never see it and other sites never send it. Every
form that changes data also carries a CSRF token: an HMAC of the cookie's token, which a page on
another origin can neither read nor compute. Deriving it from the token, not from a key of this
process, keeps it valid across restarts and across several instances behind one address.
"""

import hashlib
import hmac
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Depends, Request
from starlette.datastructures import ImmutableMultiDict
from starlette.routing import Match

from api.deps import SessionDep
from incidents.actors import Actor
from incidents.models import Role
from incidents.tokens import authenticate

TOKEN_COOKIE = "stabilog_token"
CSRF_FIELD = "csrf"
# A working week of shifts; the token itself lives until it is revoked.
COOKIE_MAX_AGE = 7 * 24 * 3600
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class SignInRequired(Exception):
    """No valid token: the page answers with a redirect to the sign-in form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageForbidden(Exception):
    """Signed in, but the role is too low or the form's CSRF token is wrong."""

    def __init__(self, reason: str, role: Role | None = None) -> None:
        super().__init__(reason)
        self.reason = reason  # a key of the pages' words
        self.role = role


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"stabilog-web-csrf", hashlib.sha256).hexdigest()


def sign_in_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="/")


def safe_next(next_url: str | None) -> str:
    """Only a path on this site: an open redirect would make the sign-in form a phishing aid."""
    if not next_url or not next_url.startswith("/") or next_url.startswith(("//", "/\\")):
        return "/"
    return next_url


def page_actor(request: Request, session: SessionDep) -> Actor:
    token = request.cookies.get(TOKEN_COOKIE) or ""
    actor = authenticate(session, token) if token else None
    if actor is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(here if request.method == "GET" else _form_page(request))
    # The templates show who is signed in and put the CSRF token into every form.
    request.state.actor = actor
    request.state.csrf = csrf_token(token)
    return actor


def _form_page(request: Request) -> str:
    """Where a form posted without a valid sign-in was shown, to go back to after signing in:
    the page's script kept what was typed and puts it back there. A form shown again after a
    refusal may sit at a post-only address: then its draft waits for the next showing."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not _is_page(request, referer.path):
        return "/"
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


def _is_page(request: Request, path: str) -> bool:
    scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


PageActor = Annotated[Actor, Depends(page_actor)]


def require_page_role(role: Role):
    def check(actor: PageActor) -> Actor:
        if not actor.role.at_least(role):
            raise PageForbidden("forbidden_role", role)
        return actor

    return check


# The role that may write through the pages (file, edit, acknowledge); below it, pages are read.
WRITER_ROLE = Role.oncall
OncallPage = Annotated[Actor, Depends(require_page_role(WRITER_ROLE))]


def can_write(actor: Actor | None) -> bool:
    """Whether the pages offer `actor` their forms; `form_writer` refuses the rest anyway."""
    return actor is not None and actor.role.at_least(WRITER_ROLE)


async def submitted_form(request: Request) -> ImmutableMultiDict:
    """The urlencoded body of a page form (the body size is bounded by the app's middleware)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        return ImmutableMultiDict()
    body = (await request.body()).decode("utf-8", errors="replace")
    return ImmutableMultiDict(parse_qsl(body, keep_blank_values=True))


FormData = Annotated[ImmutableMultiDict, Depends(submitted_form)]


def form_writer(request: Request, actor: PageActor, form: FormData) -> Actor:
    """A signed-in on-call (or admin) posting a form this site rendered for them."""
    expected = request.state.csrf
    if not hmac.compare_digest(str(form.get(CSRF_FIELD, "")), expected):
        raise PageForbidden("csrf_failed")
    if not can_write(actor):
        raise PageForbidden("forbidden_role", WRITER_ROLE)
    return actor


FormWriter = Annotated[Actor, Depends(form_writer)]
