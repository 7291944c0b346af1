"""Refuse input no view can handle before any view (or CSRF check) sees it.

- NUL characters: PostgreSQL's text and JSONB types reject U+0000, so a NUL anywhere in a request
  (path, query, form fields, JSON strings) would reach the database and fail there as a 500. It is
  never valid input for this API.
- Form parts without a name: flask-wtf's CSRF check fails on them with an exception.

Such requests are refused up front with the 400 envelope.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, request

from web.errors import error_response

NUL = "\x00"


def _has_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds a NUL in any string or key (iterative: depth is no risk)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _json_has_nul(raw: bytes) -> bool:
    if b"\\u0000" not in raw and b"\x00" not in raw:
        return False  # the common case: no escape that could decode to NUL
    try:
        return _has_nul(json.loads(raw))
    except (ValueError, RecursionError):
        return b"\x00" in raw  # not JSON at all: the view refuses it; a raw NUL is refused here


def offending_part() -> str | None:
    """The part of the request holding a NUL character ("form": a form field without a name), or None."""
    if NUL in request.path:
        return "path"
    if b"%00" in request.query_string or b"\x00" in request.query_string:
        return "query"
    if any(NUL in k or NUL in v for k, v in request.headers.items() if k.lower() != "cookie"):
        return "headers"
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        if _json_has_nul(request.get_data(cache=True)):
            return "body"
    elif mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if any(not key for key in [*request.form.keys(), *request.files.keys()]):
            return "form"
        fields: list[str | None] = [part for item in request.form.items(multi=True) for part in item]
        fields += [f.filename for _, f in request.files.items(multi=True)]
        if any(isinstance(field, str) and NUL in field for field in fields):
            return "body"
    return None


def register(app: Flask) -> None:
    """Check every request (after the body size limit) for NUL characters."""

    @app.before_request
    def _refuse_nul() -> Response | None:
        part = offending_part()
        if part is None:
            return None
        if part == "form":
            return error_response(400, "bad_request", "Every form field needs a name.")
        message = "The request contains a NUL character."
        return error_response(400, "validation_error", message, {part: ["NUL characters are not allowed."]})
