"""How the worker delivers mail: SMTP with STARTTLS and AUTH, or files in VAR_DIR/mail/ (no SMTP_URL)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from tests.integration.test_auth_support import anon_client, register_body
from tests.smtp import self_signed_certificate, smtp_sink, text_of, token_from
from tests.support import Proc, python_module, wait_for


def test_worker_sends_over_starttls_with_login(app, test_env, proc_log_dir, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    with smtp_sink(username="mailer", password="s3cret pass", tls_files=(cert, key)) as sink:
        # The worker trusts our test certificate through the standard OpenSSL variable.
        env = {**test_env, "SMTP_URL": sink.url, "SSL_CERT_FILE": str(cert)}
        worker = Proc("worker-starttls", python_module("workers"), env, proc_log_dir).start()
        try:
            body = register_body()
            assert anon_client(app).post("/api/auth/register", json=body).status_code == 201
            mail = sink.wait_for(body["email"], "Confirm")
        finally:
            worker.stop()
        index = sink.messages.index(mail)
        assert sink.tls_used[index] is True
        assert sink.logins[index].login == b"mailer"
        assert "/verify-email?token=" in text_of(mail)
        assert "s3cret" not in worker.log_tail(500)


def _mail_files_to(directory: Path, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address.lower() in str(message["To"]).lower():
            found.append(message)
    return found  # type: ignore[return-value]


def test_without_smtp_url_mail_is_written_to_var_mail_and_its_link_logged(app, test_env, proc_log_dir, var_dir):
    env = {key: value for key, value in test_env.items() if key != "SMTP_URL"}
    worker = Proc("worker-maildrop", python_module("workers"), env, proc_log_dir).start()
    try:
        body = register_body()
        client = anon_client(app)
        assert client.post("/api/auth/register", json=body).status_code == 201
        messages = wait_for(lambda: _mail_files_to(var_dir / "mail", body["email"]), timeout=30, what="a mail file")
        token = token_from(messages[0], "/verify-email")
        wait_for(lambda: f"verify-email?token={token}" in worker.log_tail(500), what="the link in the worker log")
    finally:
        worker.stop()
    assert messages[0].get_body(preferencelist=("html",)) is not None
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 200
