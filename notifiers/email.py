"""E-mail over SMTP: a text part with the Markdown as written and an HTML part showing it
escaped and preformatted. Not HTTP, so this channel delivers by itself (`deliver`).

The URL says everything: smtp://user:pass@host:port?from=a@b&to=c@d,e@f. smtp:// is plain SMTP
(port 25), with ?starttls=1 upgraded by STARTTLS (port 587); smtps:// is TLS from the first
byte (port 465). A password missing from the URL comes from the channel's secret.
"""

import html
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from notifiers.message import ChannelConfig, DeliveryOutcome, Message
from notifiers.text import LINK_LABEL, one_line

KIND = "email"
LABEL = "E-mail"
SMTP_TIMEOUT_SECONDS = 15.0
_DEFAULT_PORTS = {("smtp", False): 25, ("smtp", True): 587, ("smtps", False): 465}
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpTarget:
    implicit_tls: bool
    starttls: bool
    host: str
    port: int
    username: str | None
    password: str | None
    sender: str
    recipients: tuple[str, ...]


def smtp_target(config: ChannelConfig) -> SmtpTarget:
    """The SMTP URL taken apart, or a ValueError saying what is wrong with it."""
    raw = (config.url or "").strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError(f"{LABEL}: the URL is malformed (bad port?)") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(
            f"{LABEL}: the URL must look like smtp(s)://user:pass@host:port?from=…&to=…"
        )
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[-1].lower() in _TRUE
    if starttls and parts.scheme == "smtps":
        raise ValueError(f"{LABEL}: smtps:// is TLS already; starttls=1 is for smtp://")
    senders = query.get("from", [])
    if len(senders) != 1:
        raise ValueError(f"{LABEL}: the URL needs exactly one ?from=address")
    recipients = tuple(a.strip() for value in query.get("to", []) for a in value.split(","))
    recipients = tuple(a for a in recipients if a)
    if not recipients:
        raise ValueError(f"{LABEL}: the URL needs ?to=address[,address…]")
    for address in (senders[0], *recipients):
        _check_address(address)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else config.secret
    if username and not password:
        raise ValueError(f"{LABEL}: a user without a password (put it in the URL or the secret)")
    return SmtpTarget(
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[(parts.scheme, starttls)],
        username=username,
        password=password,
        sender=senders[0],
        recipients=recipients,
    )


def _check_address(address: str) -> None:
    _, parsed = parseaddr(address)
    if parsed != address or "@" not in address or re.search(r"[\s<>]", address):
        raise ValueError(f"{LABEL}: {address!r} is not an e-mail address")


def compose(message: Message, target: SmtpTarget, now: datetime) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = one_line(message.title)
    mail["From"] = target.sender
    mail["To"] = ", ".join(target.recipients)
    mail["Date"] = format_datetime(now.astimezone(UTC))
    domain = target.sender.rpartition("@")[2]
    # A Message-ID stable across retries lets mail clients fold a duplicate delivery.
    key = re.sub(r"[^A-Za-z0-9._-]", "-", message.idempotency_key)
    mail["Message-ID"] = f"<stabilog.{key}@{domain}>" if key else make_msgid(domain=domain)
    text = message.markdown + (f"\n\n{LINK_LABEL}: {message.url}\n" if message.url else "\n")
    mail.set_content(text)
    mail.add_alternative(_html(message), subtype="html")
    return mail


def _html(message: Message) -> str:
    link = ""
    if message.url and urlsplit(message.url).scheme in ("http", "https"):
        link = f'<p><a href="{html.escape(message.url)}">{html.escape(LINK_LABEL)}</a></p>'
    return (
        '<!doctype html><html><body><h2 style="font-size:1.2em">'
        f"{html.escape(one_line(message.title))}</h2>"
        '<pre style="white-space:pre-wrap;font-family:inherit">'
        f"{html.escape(message.markdown)}</pre>{link}</body></html>"
    )


class Email:
    kind = KIND

    def validate(self, config: ChannelConfig) -> None:
        smtp_target(config)

    def deliver(
        self, message: Message, config: ChannelConfig, now: datetime | None = None
    ) -> DeliveryOutcome:
        try:
            target = smtp_target(config)
        except ValueError as exc:
            return DeliveryOutcome.give_up(str(exc))
        mail = compose(message, target, now or datetime.now(UTC))
        try:
            with _connect(target) as smtp:
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            return _refused(exc.recipients, len(target.recipients))
        except smtplib.SMTPResponseException as exc:
            # Sender refused, data refused, authentication failed, an unwelcoming greeting.
            detail = f"{LABEL}: SMTP {exc.smtp_code} {_text(exc.smtp_error)}"
            if exc.smtp_code >= 500:
                return DeliveryOutcome.give_up(detail)
            return DeliveryOutcome.retry(detail)
        except smtplib.SMTPNotSupportedError as exc:
            return DeliveryOutcome.give_up(f"{LABEL}: the server does not support it: {exc}")
        except ssl.SSLError as exc:
            # A certificate that does not verify, or TLS spoken to a plain port: configuration.
            return DeliveryOutcome.give_up(f"{LABEL}: TLS failed: {exc.__class__.__name__}: {exc}")
        except (smtplib.SMTPException, OSError) as exc:
            # Refused or dropped connections, timeouts, DNS: the server may be back later.
            return DeliveryOutcome.retry(f"{LABEL}: {exc.__class__.__name__}: {exc}")
        if refused:
            return _refused(refused, len(target.recipients))
        return DeliveryOutcome.delivered(f"{LABEL}: accepted for {len(target.recipients)}")


def _connect(target: SmtpTarget) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if target.implicit_tls:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if target.starttls:
            smtp.starttls(context=context)
        if target.username and target.password:
            smtp.login(target.username, target.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _refused(refused: dict[str, tuple[int, bytes]], total: int) -> DeliveryOutcome:
    """Some or all recipients refused. Retried only if every refusal was temporary (4xx); a
    retry then goes to all recipients again, so those who got it once get it twice."""
    listed = "; ".join(f"{a} ({code} {_text(reply)})" for a, (code, reply) in refused.items())
    detail = one_line(f"{LABEL}: {len(refused)} of {total} refused: {listed}", 300)
    if all(code < 500 for code, _ in refused.values()):
        return DeliveryOutcome.retry(detail)
    return DeliveryOutcome.give_up(detail)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
