"""Signing in with a token, the cookie it leaves, signing out, roles and CSRF on every form."""

from fastapi.testclient import TestClient
from sqlmodel import func, select

from incidents.models import ApiToken, Incident, Role
from incidents.tokens import create_token, revoke_token


def test_a_page_without_sign_in_redirects_to_the_sign_in_form(client) -> None:
    response = client.get("/incidents?grade=C", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/incidents%3Fgrade%3DC"
    form = client.get(response.headers["location"])
    assert form.status_code == 200
    assert 'name="next" value="/incidents?grade=C"' in form.text


def test_a_wrong_token_is_refused_beside_the_field_and_sets_no_cookie(client) -> None:
    response = client.post("/login", data={"token": "stl_nope"}, follow_redirects=False)
    assert response.status_code == 401
    assert 'id="token-error"' in response.text
    assert "令牌无效或已吊销" in response.text
    assert "set-cookie" not in response.headers


def test_sign_in_keeps_the_token_in_a_strict_http_only_cookie(client, session) -> None:
    _, plain = create_token(session, "alice", Role.oncall)
    session.commit()
    response = client.post(
        "/login", data={"token": plain, "next": "/alerts"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/alerts"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"stabilog_token={plain};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    page = client.get("/alerts")
    assert page.status_code == 200
    assert "alice · oncall" in page.text


def test_the_cookie_is_secure_over_https(client, session) -> None:
    _, plain = create_token(session, "bob", Role.viewer)
    session.commit()
    with TestClient(client.app, base_url="https://testserver") as secure:
        response = secure.post("/login", data={"token": plain}, follow_redirects=False)
    assert "Secure" in response.headers["set-cookie"]


def test_sign_in_only_redirects_within_the_site(client, session) -> None:
    _, plain = create_token(session, "carol", Role.viewer)
    session.commit()
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            "/login", data={"token": plain, "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/"


def test_a_revoked_token_signs_the_browser_out(client, session, sign_in) -> None:
    sign_in(Role.viewer, name="dave")
    assert client.get("/incidents").status_code == 200
    token = session.exec(select(ApiToken).where(ApiToken.name == "dave")).one()
    revoke_token(session, token.id)
    session.commit()
    assert client.get("/incidents", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_csrf_token_and_clears_the_cookie(client, sign_in) -> None:
    csrf = sign_in(Role.viewer)
    forged = client.post("/logout", data={"csrf": "x"}, follow_redirects=False)
    assert forged.headers["location"] == "/"
    assert client.get("/incidents", follow_redirects=False).status_code == 200
    response = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert 'stabilog_token=""' in response.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/incidents", follow_redirects=False).status_code == 303


def test_a_viewer_reads_but_is_refused_every_write_with_403(client, sign_in, session) -> None:
    csrf = sign_in(Role.viewer)
    listing = client.get("/incidents")
    assert listing.status_code == 200
    assert 'href="/incidents/new"' not in listing.text
    form = client.get("/incidents/new")
    assert form.status_code == 403
    assert "此操作需要值班（oncall）角色" in form.text
    response = client.post(
        "/incidents/new",
        data={"csrf": csrf, "title": "x", "detected_at": "9/7 14:42"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert session.exec(select(func.count()).select_from(Incident)).one() == 0


def test_a_form_without_the_right_csrf_token_is_refused(client, sign_in, session) -> None:
    sign_in(Role.oncall)
    fields = {"title": "x", "detected_at": "9/7 14:42"}
    for csrf in (None, "", "0" * 64):
        data = fields if csrf is None else {**fields, "csrf": csrf}
        response = client.post("/incidents/new", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "表单已过期或来源不明" in response.text
    assert session.exec(select(func.count()).select_from(Incident)).one() == 0


def test_another_users_csrf_token_does_not_fit(client, sign_in, session) -> None:
    other = sign_in(Role.oncall, name="first")
    sign_in(Role.oncall, name="second")  # the client now holds the second token's cookie
    response = client.post(
        "/incidents/new",
        data={"csrf": other, "title": "x", "detected_at": "9/7 14:42"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_english_is_a_switch_away_and_remembered(client, sign_in) -> None:
    sign_in(Role.viewer)
    assert "<h1>事件</h1>" in client.get("/incidents").text
    switched = client.get("/incidents?lang=en")
    assert "<h1>Incidents</h1>" in switched.text
    assert "stabilog_lang=en" in switched.headers["set-cookie"]
    assert "<h1>Alert inbox</h1>" in client.get("/alerts").text
    assert 'lang="en"' in client.get("/incidents").text


def test_static_files_are_served_with_their_types_and_nothing_else(client) -> None:
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "immutable" in script.headers["cache-control"]
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/static/..%2Fauth.py").status_code == 404
    assert client.get("/static/__init__.py").status_code == 404
