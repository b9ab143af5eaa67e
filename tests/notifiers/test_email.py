import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from notifiers import escape_for, send, validate_config
from notifiers.email import smtp_target
from tests.notifiers.builders import INCIDENT_URL, a_message, config

USER, PASSWORD = "robot@pay.example", "p@ss:w/rd"
QUOTED_PASSWORD = "p%40ss%3Aw%2Frd"


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and refuses what the test scripts."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None

    # aiosmtpd finds hooks by these names.
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply:
            return self.data_reply
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USER, PASSWORD)
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int

    def url(self, auth: str = f"{USER}:{QUOTED_PASSWORD}@", query: str = "") -> str:
        query = query or "from=stabilog@pay.example&to=oncall@pay.example,lead@pay.example"
        return f"smtp://{auth}127.0.0.1:{self.port}?{query}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        server_hostname="mx.test",
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield SmtpServer(mailbox, port)
    controller.stop()


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_delivers_text_and_html_parts(smtp_server, client) -> None:
    msg = a_message(
        markdown="**影响**：545笔失败\n告警：" + escape_for("email", "<script>x</script>")
    )
    outcome = send(msg, config("email", smtp_server.url()), client=client)
    assert outcome.ok, outcome.detail

    ((sender, recipients, raw),) = smtp_server.mailbox.messages
    assert sender == "stabilog@pay.example"
    assert recipients == ["oncall@pay.example", "lead@pay.example"]
    mail = parsed(raw)
    assert mail["Subject"] == "【C级事故】履约POS付款单失败545笔"
    assert mail["Message-ID"] == "<stabilog.outbox-17@pay.example>"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert text.startswith("**影响**：545笔失败")
    assert f"查看详情: {INCIDENT_URL}" in text
    assert f'<a href="{INCIDENT_URL}">' in html
    assert "<script>" not in html
    assert "<script>" not in text


def test_html_part_escapes_the_markdown_itself(smtp_server, client) -> None:
    msg = a_message(title="<b>标题</b>", markdown="<img src=x onerror=alert(1)>")
    assert send(msg, config("email", smtp_server.url()), client=client).ok
    html = parsed(smtp_server.mailbox.messages[0][2]).get_body(("html",)).get_content()
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;标题&lt;/b&gt;" in html


def test_password_may_come_from_the_secret(smtp_server, client) -> None:
    cfg = config("email", smtp_server.url(auth=f"{USER}@".replace("@pay", "%40pay")), PASSWORD)
    outcome = send(a_message(), cfg, client=client)
    assert outcome.ok, outcome.detail


def test_wrong_password_is_permanent_and_not_echoed(smtp_server, client) -> None:
    cfg = config("email", smtp_server.url(auth="robot%40pay.example:hunter2-secret@"))
    outcome = send(a_message(), cfg, client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "535" in outcome.detail
    assert "hunter2-secret" not in outcome.detail


def test_refused_recipient_is_permanent_and_named(smtp_server, client) -> None:
    smtp_server.mailbox.refuse_rcpt = {"oncall@pay.example": "550 5.1.1 no such user"}
    query = "from=stabilog@pay.example&to=oncall@pay.example"
    outcome = send(a_message(), config("email", smtp_server.url(query=query)), client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "oncall@pay.example (550 5.1.1 no such user)" in outcome.detail
    assert PASSWORD not in outcome.detail


def test_partly_refused_is_reported(smtp_server, client) -> None:
    smtp_server.mailbox.refuse_rcpt = {"lead@pay.example": "550 5.1.1 no such user"}
    outcome = send(a_message(), config("email", smtp_server.url()), client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "1 of 2 refused" in outcome.detail
    assert len(smtp_server.mailbox.messages) == 1


def test_temporary_refusal_is_retryable(smtp_server, client) -> None:
    smtp_server.mailbox.data_reply = "451 4.3.0 try again later"
    outcome = send(a_message(), config("email", smtp_server.url()), client=client)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert "451" in outcome.detail


def test_permanent_data_refusal(smtp_server, client) -> None:
    smtp_server.mailbox.data_reply = "554 5.7.1 message rejected"
    outcome = send(a_message(), config("email", smtp_server.url()), client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)


def test_starttls_required_but_not_offered_is_permanent(smtp_server, client) -> None:
    query = "from=stabilog@pay.example&to=oncall@pay.example&starttls=1"
    outcome = send(a_message(), config("email", smtp_server.url(query=query)), client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert smtp_server.mailbox.messages == []


def test_connection_refused_is_retryable(client) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        url = f"smtp://127.0.0.1:{port}?from=a@pay.example&to=b@pay.example"
        outcome = send(a_message(), config("email", url), client=client)
    assert (outcome.ok, outcome.retryable) == (False, True)


def test_smtp_url_is_taken_apart() -> None:
    target = smtp_target(
        config(
            "email",
            f"smtp://{USER.replace('@', '%40')}:{QUOTED_PASSWORD}@mail.example:2525"
            "?from=a@pay.example&to=b@pay.example,%20c@pay.example&starttls=1",
        )
    )
    assert (target.host, target.port, target.starttls, target.implicit_tls) == (
        "mail.example",
        2525,
        True,
        False,
    )
    assert (target.username, target.password) == (USER, PASSWORD)
    assert target.recipients == ("b@pay.example", "c@pay.example")
    assert smtp_target(config("email", "smtps://mail.example?from=a@x.cn&to=b@x.cn")).port == 465
    assert (
        smtp_target(config("email", "smtp://m.example?from=a@x.cn&to=b@x.cn&starttls=1")).port
        == 587
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://mail.example?from=a@x.cn&to=b@x.cn", "smtp"),
        ("smtp://mail.example?to=b@x.cn", "from"),
        ("smtp://mail.example?from=a@x.cn", "to"),
        ("smtp://mail.example?from=a@x.cn&to=not-an-address", "e-mail address"),
        ("smtp://user@mail.example?from=a@x.cn&to=b@x.cn", "password"),
        ("smtps://mail.example?from=a@x.cn&to=b@x.cn&starttls=1", "starttls"),
        ("smtp://mail.example:notaport?from=a@x.cn&to=b@x.cn", "port"),
    ],
)
def test_bad_smtp_urls_are_refused(url, message) -> None:
    with pytest.raises(ValueError, match=message):
        validate_config(config("email", url))


def test_date_header_is_the_given_time(smtp_server, client) -> None:
    now = datetime(2023, 9, 9, 2, 0, tzinfo=UTC)
    assert send(a_message(), config("email", smtp_server.url()), client=client, now=now).ok
    assert parsed(smtp_server.mailbox.messages[0][2])["Date"] == "Sat, 09 Sep 2023 02:00:00 +0000"
