"""A page form posted twice files once: the form's idempotency key, kept in the database; a form
over the body limit, or posted after the sign-in ended, still answers as a page."""

from datetime import timedelta

from sqlmodel import Session, func, select

from incidents import form_keys
from incidents.db import utcnow
from incidents.models import FormKey, Incident, Role
from incidents.tokens import list_tokens, revoke_token

KEY = "0123456789abcdef0123456789abcdef"


def filing(csrf: str, key: str = KEY, **changes: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "form_key": key,
        "title": "支付网关超时",
        "system": "支付网关",
        "detected_at": "2023-09-07 14:42",
        "failed_orders": "1200",
        **changes,
    }


def incidents_filed(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Incident)).one()


def test_the_same_form_posted_twice_files_once_and_leads_to_the_first(
    client, sign_in, session
) -> None:
    csrf = sign_in(Role.oncall)
    first = client.post("/incidents/new", data=filing(csrf), follow_redirects=False)
    second = client.post("/incidents/new", data=filing(csrf), follow_redirects=False)
    assert first.status_code == second.status_code == 303, second.text
    assert second.headers["location"] == first.headers["location"]
    assert incidents_filed(session) == 1
    # Both tell the page's script that the draft sent with this key is done with.
    assert f"stabilog_done={KEY}" in first.headers["set-cookie"]
    assert f"stabilog_done={KEY}" in second.headers["set-cookie"]


def test_the_same_key_with_changed_values_files_again(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    client.post("/incidents/new", data=filing(csrf), follow_redirects=False)
    changed = filing(csrf, title="支付网关超时（第二次）")
    response = client.post("/incidents/new", data=changed, follow_redirects=False)
    assert response.status_code == 303
    assert incidents_filed(session) == 2


def test_a_refused_post_keeps_no_claim_so_the_corrected_retry_files(
    client, sign_in, session
) -> None:
    csrf = sign_in(Role.oncall)
    refused = filing(csrf, detected_at="9/77 14:42")
    assert client.post("/incidents/new", data=refused).status_code == 422
    assert client.post("/incidents/new", data=refused).status_code == 422  # acted, not led
    assert session.exec(select(func.count()).select_from(FormKey)).one() == 0
    response = client.post("/incidents/new", data=filing(csrf), follow_redirects=False)
    assert response.status_code == 303
    assert incidents_filed(session) == 1


def test_a_form_without_a_key_is_handled_as_before(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    for _ in range(2):
        data = filing(csrf)
        del data["form_key"]
        assert client.post("/incidents/new", data=data, follow_redirects=False).status_code == 303
    assert incidents_filed(session) == 2


def test_a_second_post_while_the_first_is_handled_waits_for_its_result(session) -> None:
    digest = form_keys.digest_of(KEY, "/incidents/new", b"title=x")
    assert form_keys.claim(session, digest, "/incidents/new").claimed
    waiting = form_keys.claim(session, digest, "/incidents/new")
    assert (waiting.claimed, waiting.location) == (False, None)
    form_keys.finish(session, digest, "/incidents/7")
    led = form_keys.claim(session, digest, "/incidents/new")
    assert (led.claimed, led.location) == (False, "/incidents/7")


def test_a_claim_whose_post_died_is_taken_over_and_old_keys_go(session) -> None:
    digest = form_keys.digest_of(KEY, "/incidents/new", b"title=x")
    then = utcnow() - form_keys.ABANDONED - timedelta(seconds=1)
    form_keys.claim(session, digest, "/incidents/new", now=then)
    assert form_keys.claim(session, digest, "/incidents/new").claimed
    form_keys.finish(session, digest, "/incidents/7")
    later = utcnow() + form_keys.KEPT + timedelta(seconds=1)
    assert form_keys.claim(session, "another", "/incidents/new", now=later).claimed
    assert session.get(FormKey, digest) is None


def test_a_page_form_over_the_body_limit_answers_a_page_the_api_json(client, sign_in) -> None:
    csrf = sign_in(Role.oncall)
    huge = filing(csrf, description="长" * (2 * 1_048_576))  # 6 MiB as UTF-8, 18 MiB encoded
    response = client.post("/incidents/new", data=huge)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "提交的内容超过 5 MiB 的上限，没有保存" in response.text
    assert "返回表单即可恢复" in response.text
    api = client.post("/api/v1/incidents", content=b"x" * (6 * 1_048_576))
    assert api.status_code == 413
    assert api.json() == {"detail": "request body larger than 5242880 bytes"}


def test_a_post_after_the_token_was_revoked_leads_back_to_its_form_after_sign_in(
    client, sign_in, session
) -> None:
    csrf = sign_in(Role.oncall, name="小王")
    (token,) = [token for token in list_tokens(session) if token.name == "小王"]
    revoke_token(session, token.id)
    session.commit()
    base = str(client.base_url)
    response = client.post(
        "/incidents/new",
        data=filing(csrf),
        headers={"Referer": f"{base}/incidents/new"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/incidents/new"
    assert "stabilog_done" not in response.headers.get("set-cookie", "")
    # A post-only address is no page to come back to; another site's address is never used.
    for referer in (f"{base}/incidents/3/edit", "https://elsewhere.example/incidents/new"):
        response = client.post(
            "/incidents/3/edit",
            data={"csrf": csrf},
            headers={"Referer": referer},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/login?next=/", referer
    assert incidents_filed(session) == 0


def test_an_unknown_address_answers_a_browser_with_a_page_and_a_script_with_json(client) -> None:
    page = client.get("/incidents/new/nothing", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "没有这个页面。" in page.text
    assert client.get("/incidents/new/nothing").json() == {"detail": "Not Found"}
    api = client.get("/api/v1/nothing", headers={"Accept": "text/html"})
    assert api.json() == {"detail": "Not Found"}


def test_a_key_the_script_did_not_make_is_ignored(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    for key in ("short", "密钥" * 10, "0123456789abcdef;Path=/x"):
        for _ in range(2):
            response = client.post("/incidents/new", data=filing(csrf, key), follow_redirects=False)
            assert response.status_code == 303
            assert "stabilog_done" not in response.headers.get("set-cookie", "")
    assert incidents_filed(session) == 6
