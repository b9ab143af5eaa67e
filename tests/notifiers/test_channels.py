"""validate_config: what each kind accepts before anything is sent."""

import pytest

from notifiers import validate_config
from tests.notifiers.builders import config

GOOD_URLS = {
    "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token=abc123",
    "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
    "feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/2a9e5c7d",
    "slack": "https://hooks.slack.com/services/T0/B0/XXXX",
    "webhook": "https://hooks.example.com/stabilog",
    "email": "smtps://robot%40pay.example:pw@smtp.pay.example?from=a@pay.example&to=b@pay.example",
}
GOOD_SECRETS = {"dingtalk": "SECabc", "feishu": "abcDEF123", "webhook": "whsec_c2VjcmV0"}
ROBOTS = ["dingtalk", "wecom", "feishu", "slack", "webhook"]


@pytest.mark.parametrize("kind", GOOD_URLS)
def test_good_configs_pass(kind) -> None:
    validate_config(config(kind, GOOD_URLS[kind], GOOD_SECRETS.get(kind)))


@pytest.mark.parametrize("kind", [*ROBOTS, "email"])
@pytest.mark.parametrize("url", ["ftp://x", "not a url", "", "http://", "//host/path"])
def test_malformed_urls_are_refused(kind, url) -> None:
    with pytest.raises(ValueError, match="URL"):
        validate_config(config(kind, url, GOOD_SECRETS.get(kind)))


@pytest.mark.parametrize("kind", ROBOTS)
def test_robots_refuse_smtp_urls(kind) -> None:
    with pytest.raises(ValueError, match="http"):
        validate_config(config(kind, GOOD_URLS["email"], GOOD_SECRETS.get(kind)))


def test_email_refuses_http_urls() -> None:
    with pytest.raises(ValueError, match="smtp"):
        validate_config(config("email", GOOD_URLS["webhook"]))


def test_dingtalk_without_secret_is_allowed_for_keyword_robots() -> None:
    validate_config(config("dingtalk", GOOD_URLS["dingtalk"]))


def test_feishu_without_secret_is_allowed() -> None:
    validate_config(config("feishu", GOOD_URLS["feishu"]))


def test_dingtalk_url_must_carry_the_token() -> None:
    with pytest.raises(ValueError, match="access_token"):
        validate_config(config("dingtalk", "https://oapi.dingtalk.com/robot/send"))


def test_wecom_url_must_carry_the_key() -> None:
    with pytest.raises(ValueError, match="key"):
        validate_config(config("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"))


@pytest.mark.parametrize("kind", ["dingtalk", "feishu", "webhook"])
@pytest.mark.parametrize("secret", ["   ", "abc def", "abc\n", "密钥abc"])
def test_malformed_secrets_are_refused(kind, secret) -> None:
    with pytest.raises(ValueError, match="secret"):
        validate_config(config(kind, GOOD_URLS[kind], secret))


@pytest.mark.parametrize("secret", ["whsec_!!!not-base64!!!", "whsec_", "whsec_abc"])
def test_webhook_whsec_secret_must_be_base64(secret) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        validate_config(config("webhook", GOOD_URLS["webhook"], secret))


def test_webhook_requires_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        validate_config(config("webhook", GOOD_URLS["webhook"]))


@pytest.mark.parametrize("kind", ["wecom", "slack"])
def test_unsigned_robots_refuse_a_secret(kind) -> None:
    with pytest.raises(ValueError, match="not signed"):
        validate_config(config(kind, GOOD_URLS[kind], "something"))


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="webhook"):
        validate_config(config("teams", "https://x.example/"))
