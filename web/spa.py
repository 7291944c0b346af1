"""The built single-page app (frontend/dist) served at /, after every API blueprint.

Hashed files under /assets/ are cached for a year; index.html and the other unhashed files are
revalidated on every load (ETag), so a deploy reaches browsers at once. Unknown client routes
(/settings, /verify-email?token=…) answer index.html and the router takes over; /api/* never
falls back to the app: unknown API paths get the JSON 404 envelope.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, send_from_directory
from werkzeug.security import safe_join

from config import BASE_DIR
from web.errors import ApiError

bp = Blueprint("spa", __name__)

DEFAULT_DIST = BASE_DIR / "frontend" / "dist"
LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def dist_dir() -> Path:
    """Where the build is: SPA_DIST_DIR in the app config (tests), else frontend/dist."""
    return Path(current_app.config.get("SPA_DIST_DIR") or DEFAULT_DIST)


def _send(directory: Path, name: str, cache_control: str) -> Response:
    response = send_from_directory(directory, name, conditional=True, max_age=None)
    response.headers["Cache-Control"] = cache_control
    return response


def _not_built() -> Response:
    body = "The web app is not built yet: run `make frontend` (npm ci && npm run build in frontend/).\n"
    return Response(body, status=503, mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def spa(path: str) -> Response:
    """Serve a file of the build, or index.html for a client-side route."""
    if path == "api" or path.startswith("api/"):
        raise ApiError(404, "not_found", "There is no API endpoint at this path.")
    dist = dist_dir()
    if path:
        target = safe_join(str(dist), path)
        if target is not None and Path(target).is_file():
            return _send(dist, path, LONG_CACHE if path.startswith("assets/") else REVALIDATE)
        # A missing file (old hashed asset, /favicon.ico) is a 404, not the app's HTML.
        if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
            raise ApiError(404, "not_found", "No such file.")
    if not (dist / "index.html").is_file():
        return _not_built()
    return _send(dist, "index.html", REVALIDATE)


def register(app: Flask) -> None:
    """Mount the app last, so every API route and the WebSocket match first."""
    app.register_blueprint(bp)
