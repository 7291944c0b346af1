"""SMTP_URL parsing and the MIME shape of outgoing mail (no I/O)."""

from datetime import UTC, datetime

import pytest

from workers.mail import MailConfigError, build_message, parse_smtp_url


def test_plain_smtp_url_defaults_to_port_25():
    target = parse_smtp_url("smtp://mail.internal")
    assert (target.host, target.port, target.username, target.implicit_tls, target.starttls) == (
        "mail.internal",
        25,
        None,
        False,
        False,
    )


def test_starttls_url_with_credentials():
    target = parse_smtp_url("smtp://user%40corp:p%40ss%20word@smtp.example.com?starttls=1")
    assert (target.port, target.username, target.password, target.starttls) == (587, "user@corp", "p@ss word", True)


def test_smtps_url_is_implicit_tls_on_465():
    target = parse_smtp_url("smtps://u:p@smtp.example.com")
    assert (target.port, target.implicit_tls, target.starttls) == (465, True, False)
    assert parse_smtp_url("smtps://u:p@smtp.example.com:2465?starttls=1").starttls is False


@pytest.mark.parametrize("url", ["http://smtp.example.com", "smtp://", "smtp://host:notaport"])
def test_bad_smtp_urls_are_refused(url):
    with pytest.raises(MailConfigError):
        parse_smtp_url(url)


def test_message_has_text_and_html_alternatives_and_headers():
    message = build_message(
        {"to": "a@example.test", "subject": "Hi", "text": "plain body", "html": "<p>html body</p>"},
        "Broker <no-reply@broker.test>",
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"].endswith("@broker.test>")
    assert message["Date"] == "Fri, 02 Jan 2026 03:04:05 +0000"
    assert message.get_body(("plain",)).get_content().strip() == "plain body"
    assert message.get_body(("html",)).get_content().strip() == "<p>html body</p>"


def test_a_message_without_a_body_is_refused():
    with pytest.raises(ValueError, match="text"):
        build_message({"to": "a@example.test", "subject": "Hi", "html": "<p>x</p>"}, "x@y.test")
