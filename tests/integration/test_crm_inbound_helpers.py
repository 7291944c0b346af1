"""Helpers shared by the inbound CRM webhook tests: an app with inbound secrets, signing as the CRM does.

No tests here.
"""

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from common.webhook_signing import new_secret
from web import create_app

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 200
CURRENT, PREVIOUS = new_secret(), new_secret()


def make_inbound_app(settings, var_dir):
    """The app with CRM_INBOUND_WEBHOOK_SECRET set to two secrets (a rotation in progress)."""
    from web.services.storage import LocalStorage

    application = create_app(replace(settings, crm_inbound_webhook_secret=[CURRENT, PREVIOUS]))
    application.config["TESTING"] = True
    application.extensions["kyc_storage"] = {"backend": LocalStorage(var_dir / "uploads")}
    return application


def signed(event_type, data, *, secret=CURRENT, msg_id=None, when=None, body=None):
    """Headers and body as the CRM sends them, signed by the standardwebhooks library."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    when = when or datetime.now(UTC)
    if body is None:
        body = json.dumps({"type": event_type, "timestamp": when.isoformat(), "data": data})
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
        "content-type": "application/json",
    }
    return headers, body


def post(app, headers, body):
    return app.test_client().post("/api/crm/webhooks", data=body, headers=headers)
