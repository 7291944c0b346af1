"""flask-smorest Api and Blueprint with our JSON error envelope and 400 for bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import Flask
from flask_smorest import Api, abort
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from web.errors import envelope_for_http_exception


class Parser(FlaskParser):
    """Bad input is a 400 (422 is kept for business-rule refusals); times come out in UTC."""

    DEFAULT_VALIDATION_STATUS = 400

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type[ma.Schema], ma.Schema] = {}

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return _in_utc(super().parse(*args, **kwargs))

    def _get_schema(self, argmap: Any, req: Any) -> ma.Schema:
        # webargs builds a new instance of a schema class for every request (marshmallow deep-copies
        # every field to do so); our schemas keep no per-request state, so one instance serves all.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas[argmap] = argmap()
            return schema
        return super()._get_schema(argmap, req)


def _in_utc(value: Any, name: str = "_schema") -> Any:
    """Aware datetimes converted to UTC: PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 allows."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            abort(400, messages={name: ["Not a representable point in time."]})
    if isinstance(value, dict):
        return {key: _in_utc(item, str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_in_utc(item, name) for item in value]
    return value


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = Parser()


class ErrorBodySchema(ma.Schema):
    """What went wrong: a snake_case code, a message, the fields at fault; some codes add details."""

    class Meta:
        unknown = ma.INCLUDE  # e.g. "symbols" of unknown_symbol, "retry_after" of rate_limited

    code = ma.fields.String(required=True, metadata={"example": "validation_error"})
    message = ma.fields.String(required=True)
    # (the attribute cannot be called `fields`: that is marshmallow's own map of a schema's fields)
    fields_ = ma.fields.Dict(data_key="fields", metadata={"description": "Messages per field (validation errors)"})


class ErrorEnvelopeSchema(ma.Schema):
    """Every error response: {"error": {"code", "message", "fields"?}}."""

    error = ma.fields.Nested(ErrorBodySchema, required=True)


class PlatformApi(Api):
    """The API object; HTTP errors raised through it answer with the JSON envelope."""

    # Documents the envelope of web.errors for every error response (not flask-smorest's own shape).
    ERROR_SCHEMA = ErrorEnvelopeSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        return envelope_for_http_exception(error)

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        super().init_app(app, *args, **kwargs)
        self.spec.components.security_scheme("cookieAuth", {"type": "apiKey", "in": "cookie", "name": "access_token"})
        self.spec.components.security_scheme("crmApiKey", {"type": "http", "scheme": "bearer"})
