"""Signing in with an API token, signing out, the home page and the static files."""

import hmac

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import SessionDep
from api.web.auth import (
    COOKIE_MAX_AGE,
    CSRF_FIELD,
    TOKEN_COOKIE,
    FormData,
    PageActor,
    safe_next,
)
from api.web.i18n import WORDS, page_lang
from api.web.rendering import STATIC_DIR, STATIC_TYPES, PageRoute, render, see_other
from incidents.tokens import authenticate

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(actor: PageActor) -> Response:
    return see_other("/incidents")


@router.get("/login", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
def sign_in(request: Request, session: SessionDep, form: FormData) -> Response:
    token = form.get("token", "").strip()
    next_url = safe_next(form.get("next"))
    if not token or authenticate(session, token) is None:
        words = WORDS[page_lang(request)]
        context = {"next": next_url, "error": words.bad_token}
        return render(request, "login.html", context, status=401)
    response = see_other(next_url)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", response_class=HTMLResponse)
def sign_out(request: Request, actor: PageActor, form: FormData) -> Response:
    # A forged sign-out is only a nuisance, but it is refused like every other forged form.
    if not hmac.compare_digest(str(form.get(CSRF_FIELD, "")), request.state.csrf):
        return see_other("/")
    response = see_other("/login")
    response.delete_cookie(TOKEN_COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    path = STATIC_DIR / name
    if "/" in name or path.suffix not in STATIC_TYPES or not path.is_file():
        raise HTTPException(404)
    # The pages link each file with its content hash, so a cached copy is never stale.
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
