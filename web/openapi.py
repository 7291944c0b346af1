"""flask-smorest Api and Blueprint with our JSON error envelope and 400 for bad input."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from web.errors import envelope_for_http_exception


class Parser(FlaskParser):
    """Bad input is a 400 (422 is kept for business-rule refusals)."""

    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = Parser()


class PlatformApi(Api):
    """The API object; HTTP errors raised through it answer with the JSON envelope."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        return envelope_for_http_exception(error)

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        super().init_app(app, *args, **kwargs)
        self.spec.components.security_scheme("cookieAuth", {"type": "apiKey", "in": "cookie", "name": "access_token"})
        self.spec.components.security_scheme("crmApiKey", {"type": "http", "scheme": "bearer"})
