"""Swagger UI assets served by us (from the swagger-ui-bundle wheel), so /api/docs works offline."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs_assets", __name__)


@bp.get("/api/docs/static/<path:filename>")
def swagger_asset(filename: str) -> Response:
    response = send_from_directory(swagger_ui_path, filename, max_age=86400)
    return response
