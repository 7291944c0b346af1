"""The Flask application factory."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask, Response, g, request

from common.logs import request_id_var, setup_logging
from common.redis_conn import redis_for
from config import Settings, get_settings
from models.session import engine_for
from web import extensions as ext
from web import input_guard, metrics
from web.errors import register_error_handlers

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 12 * 1024 * 1024  # multipart uploads (KYC documents are at most 10 MB)
MAX_JSON_BYTES = 1024 * 1024  # every other body

WEB_PING_IDLE_S = 1.0  # a pooled connection idle longer than this is pinged before use


def _flask_config(settings: Settings) -> dict[str, Any]:
    secure = settings.cookie_secure
    return {
        "SECRET_KEY": settings.secret_key,
        "SETTINGS": settings,
        "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
        "JSON_SORT_KEYS": False,
        "SESSION_COOKIE_NAME": "__Host-session" if secure else "session",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": False,
        "JWT_SECRET_KEY": settings.jwt_secret_key,
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_TOKEN_LOCATION": ["cookies"],
        "JWT_COOKIE_CSRF_PROTECT": False,
        "JWT_COOKIE_SECURE": secure,
        "JWT_COOKIE_SAMESITE": "Lax",
        "JWT_ACCESS_COOKIE_NAME": "__Host-access" if secure else "access_token",
        "JWT_ACCESS_COOKIE_PATH": "/",
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=settings.access_token_minutes),
        "JWT_ENCODE_AUDIENCE": "trading-platform",
        "JWT_DECODE_AUDIENCE": "trading-platform",
        "JWT_ENCODE_ISSUER": "trading-platform",
        "JWT_DECODE_ISSUER": "trading-platform",
        "JWT_SESSION_COOKIE": False,
        "RATELIMIT_STORAGE_URI": settings.redis_url or "memory://",
        "RATELIMIT_ENABLED": settings.ratelimit_enabled,
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "API_TITLE": "Trading Platform API",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/static/",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": "Client, CRM and admin API of the trading platform. "
                'Errors use {"error": {"code", "message", "fields"?}}. See docs/CRM.md for the CRM.'
            }
        },
    }


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web application for the given settings (default: from the environment)."""
    settings = settings or get_settings()
    setup_logging("web", settings.log_level, settings.log_json)
    app = Flask(__name__, static_folder=None)
    app.config.update(_flask_config(settings))

    if settings.database_url:
        # Requests check a connection out each time: ping only those that sat idle (see make_engine).
        # The pool keeps WEB_DB_POOL_SIZE connections per worker process: a connection opened beyond
        # it (overflow) is closed again after one request, and opening one costs PostgreSQL a new
        # backend process (measured: dozens of them per 10 s at 200 orders/s with the default of 5,
        # in bursts that doubled latency).
        ext.db.configure(
            bind=engine_for(
                settings.database_url,
                ping_idle_s=WEB_PING_IDLE_S,
                pool_size=settings.web_db_pool_size,
                max_overflow=settings.web_db_max_overflow,
            )
        )
    if settings.proxy_fix_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.proxy_fix_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    register_error_handlers(app)
    _register_request_hooks(app)
    input_guard.register(app)
    metrics.init_app(app)
    ext.migrate.init_app(app, db=None, directory=str(_migrations_dir()))
    ext.jwt.init_app(app)
    ext.csrf.init_app(app)
    ext.limiter.init_app(app)
    ext.sock.init_app(app)
    ext.api.init_app(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _migrations_dir() -> Any:
    from config import BASE_DIR

    return BASE_DIR / "migrations"


def _register_blueprints(app: Flask) -> None:
    from web.api import accounts, admin, admin_webhooks, auth, crm, crm_webhooks, funds, health, kyc, market, sso
    from web.api import trading as trading_api
    from web.docs import bp as docs_bp

    modules = (health, auth, admin, crm, sso, funds, kyc, admin_webhooks, crm_webhooks, market, accounts, trading_api)
    for module in modules:
        ext.api.register_blueprint(module.blp)
    app.register_blueprint(docs_bp)
    from web import stream

    stream.register(app)  # WS /api/stream
    from web import spa

    spa.register(app)  # last: the SPA's catch-all route must not shadow any API route


def _register_cli(app: Flask) -> None:
    from web.cli import register
    from web.cli_crm import register as register_crm
    from web.cli_trading import register as register_trading

    register(app)
    register_crm(app)
    register_trading(app)


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _https_only() -> Any:
        settings: Settings = app.config["SETTINGS"]
        if settings.force_https and not request.is_secure and request.path not in ("/api/healthz", "/api/readyz"):
            from flask import redirect

            return redirect(request.url.replace("http://", "https://", 1), code=308)
        return None

    @app.before_request
    def _limit_body() -> Any:
        limit = MAX_BODY_BYTES if request.mimetype == "multipart/form-data" else MAX_JSON_BYTES
        if request.content_length is not None and request.content_length > limit:
            from web.errors import error_response

            return error_response(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
        return None

    @app.before_request
    def _request_id() -> None:
        rid = request.headers.get("X-Request-ID", "")
        if not rid or len(rid) > 64 or not rid.replace("-", "").isalnum():
            rid = uuid.uuid4().hex
        g.request_id = rid
        request_id_var.set(rid)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self' ws: wss:; font-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
        )
        settings: Settings = app.config["SETTINGS"]
        if settings.is_production:
            response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if request.path.startswith("/api/auth") or request.path.startswith("/api/sso"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.teardown_appcontext
    def _remove_session(exc: BaseException | None) -> None:
        ext.db.remove()


def get_redis() -> Any:
    """The process Redis client of the running app."""
    from flask import current_app

    settings = current_app.config["SETTINGS"]
    return redis_for(settings.redis_url, settings.redis_max_connections, settings.redis_pool_timeout_s)
