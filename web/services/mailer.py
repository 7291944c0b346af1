"""Transactional e-mail: render in the web tier, deliver in the RQ worker (workers/mail.py).

queue_mail() only remembers the rendered message on the current database session; it is handed
to the "mail" queue after that session commits (and dropped on rollback), so a mail never
announces a change that did not happen.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, render_template
from rq import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from config import Settings
from web.extensions import db

log = logging.getLogger(__name__)

PENDING_KEY = "pending_mail"
JOB = "workers.mail.deliver"
RETRY_INTERVALS = [10, 30, 120, 600, 1800]

SUBJECTS = {
    "verify_email": "Confirm your e-mail address",
    "account_exists": "Someone tried to register with your e-mail address",
    "reset_password": "Reset your password",
    "set_password": "Set your password",
    "security_notice": "Security notice for your account",
}


def _settings() -> Settings:
    return current_app.config["SETTINGS"]  # type: ignore[no-any-return]


def link(path: str, token: str) -> str:
    """An e-mail link built from APP_BASE_URL (never from the request's Host header)."""
    return f"{_settings().app_base_url.rstrip('/')}{path}?token={token}"


def render(template: str, to: str, links: list[str] | None = None, **context: Any) -> dict[str, Any]:
    """Render a mail template (subject, plain text and HTML) into a small dict for the job."""
    settings = _settings()
    context = {"app_name": settings.app_name, "base_url": settings.app_base_url.rstrip("/"), **context}
    return {
        "to": to,
        "template": template,
        "subject": f"{SUBJECTS[template]} – {settings.app_name}",
        "text": render_template(f"mail/{template}.txt", **context),
        "html": render_template(f"mail/{template}.html", **context),
        "links": links or [],
    }


def queue_mail(template: str, to: str, links: list[str] | None = None, **context: Any) -> None:
    """Send the mail once the current transaction commits."""
    db.info.setdefault(PENDING_KEY, []).append(render(template, to, links, **context))


def enqueue(message: dict[str, Any], redis_url: str) -> None:
    """Put one rendered message on the mail queue (job args carry no objects, only this dict)."""
    from workers.queues import MAIL, queue

    queue(MAIL, redis_url).enqueue(
        JOB,
        message,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        result_ttl=0,
        failure_ttl=24 * 3600,  # the job holds a link with a token: keep failures for a day, not a year
        job_timeout=60,
        description=f"mail {message['template']}",  # RQ logs the description: never the arguments
    )


@event.listens_for(db, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    redis_url = _settings().redis_url
    for message in pending:
        try:
            enqueue(message, redis_url)
        except Exception:  # the change is committed; a lost mail is logged, the user can ask again
            log.exception("could not queue the %s mail", message["template"])


@event.listens_for(db, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
