"""CRM → platform: signed inbound webhooks (POST /api/crm/webhooks) and an API-key check (GET /api/crm/whoami).

Cookie-free and CSRF-exempt like the rest of /api/crm: the webhook is authenticated by its
Standard Webhooks signature (CRM_INBOUND_WEBHOOK_SECRET), whoami by an API key.
"""

from __future__ import annotations

from typing import Any

from flask import request

from web.extensions import csrf, db
from web.openapi import Blueprint
from web.schemas.webhooks import InboundEnvelopeSchema, InboundResultSchema, WhoAmISchema
from web.services import api_keys
from web.services import crm_inbound as inbound

blp = Blueprint(
    "crm_webhooks",
    __name__,
    url_prefix="/api/crm",
    description="CRM service API: signed inbound webhooks and the API-key check",
)
csrf.exempt(blp)


@blp.route("/whoami", methods=["GET"])
@blp.doc(security=[{"crmApiKey": []}])
@blp.response(200, WhoAmISchema)
@api_keys.require_api_key()
def whoami() -> dict[str, Any]:
    """Check an API key: its id, name and scopes."""
    key = api_keys.current_api_key()
    return {"id": key.id, "name": key.name, "scopes": key.scopes, "prefix": api_keys.display_prefix(key.prefix)}


@blp.route("/webhooks", methods=["POST"])
@blp.doc(
    security=[],
    parameters=[
        {"in": "header", "name": name, "required": True, "schema": {"type": "string"}, "example": example}
        for name, example in (
            ("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
            ("webhook-timestamp", "1764410100"),
            ("webhook-signature", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
        )
    ],
    requestBody={
        "required": True,
        "content": {
            "application/json": {
                "schema": InboundEnvelopeSchema,
                "examples": inbound.OPENAPI_EXAMPLES,
            }
        },
    },
)
@blp.response(200, InboundResultSchema, description="applied now, or a duplicate of one already applied")
@blp.alt_response(202, schema=InboundResultSchema, description="unknown event type: acknowledged and ignored")
@blp.alt_response(400, description="malformed body or data (nothing applied)")
@blp.alt_response(401, description="bad signature, stale timestamp or missing headers (audited)")
@blp.alt_response(409, description="replayed webhook-id with a different body (audited)")
def receive() -> tuple[dict[str, Any], int]:
    """Apply a signed CRM webhook once (see docs/CRM.md "Inbound webhooks")."""
    body, status = inbound.receive(db, request.get_data(cache=False), dict(request.headers))
    return body, status
