"""Admin API schemas: filters (validated input) and the shapes of what admins read."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

SORTABLE_AUDIT = (
    "id",
    "-id",
    "created_at",
    "-created_at",
    "action",
    "-action",
    "actor_id",
    "-actor_id",
    "outcome",
    "-outcome",
    "ip",
    "-ip",
)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class AuditFilterArgs(Schema):
    actor = fields.String(validate=validate.Length(max=128), metadata={"description": "actor id, or type:id"})
    actor_type = fields.String(
        validate=validate.OneOf(["user", "admin", "crm", "crm_admin", "system", "engine", "anonymous"])
    )
    action = fields.String(validate=validate.Length(max=64), metadata={"description": "exact, or a prefix ending in *"})
    target = fields.String(validate=validate.Length(max=160), metadata={"description": "target id, or type:id"})
    outcome = fields.String(validate=validate.OneOf(["success", "failure", "denied"]))
    ip = fields.String(validate=validate.Length(max=64))
    impersonator = fields.String(validate=validate.Length(max=128))
    date_from = fields.AwareDateTime(data_key="from", default_timezone=None)
    date_to = fields.AwareDateTime(data_key="to", default_timezone=None)
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "free text"})


class AuditListArgs(AuditFilterArgs, PageArgs):
    sort = fields.String(load_default="-id", validate=validate.OneOf(SORTABLE_AUDIT))


class AuditRowSchema(Schema):
    id = fields.Integer()
    created_at = fields.DateTime()
    actor_type = fields.String()
    actor_id = fields.String(allow_none=True)
    impersonator_id = fields.String(allow_none=True)
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    outcome = fields.String()
    details = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ChainStateSchema(Schema):
    status = fields.String(metadata={"description": "verified or broken"})
    checked = fields.Integer()
    broken_at = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


class UserListArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=200))
    role = fields.String(validate=validate.OneOf(["client", "admin"]))
    status = fields.String(validate=validate.OneOf(["active", "disabled"]))


class UserRowSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    country = fields.String(allow_none=True)
    role = fields.String()
    status = fields.String()
    email_verified = fields.Boolean()
    totp_enabled = fields.Boolean()
    external_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class UserStatusSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class ImpersonationArgs(PageArgs):
    admin_id = fields.String(validate=validate.Length(max=128))
    user_id = fields.Integer()
