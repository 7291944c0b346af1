"""One typed Settings object, read from the environment, used by every process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

PLACEHOLDER_MARKERS = ("change-me", "changeme", "replace-with", "placeholder", "example", "dev-secret", "xxx")
SECRET_MIN_LENGTH = 32


class SettingsError(RuntimeError):
    """Raised when the environment cannot make a safe Settings object."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"not a boolean: {value!r}")


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class Settings:
    """Every setting of every process; field names are the variables, lower-cased."""

    app_env: str = "development"
    secret_key: str = "dev-secret-key-change-me-0000000000000000"
    jwt_secret_key: str = "dev-jwt-secret-change-me-00000000000000000"
    data_encryption_key: str = ""
    app_base_url: str = "http://127.0.0.1:8000"
    app_name: str = "Trading Platform"
    port: int = 8000
    web_concurrency: int = 2
    web_db_pool_size: int = 15
    web_db_max_overflow: int = 10
    log_level: str = "INFO"
    log_json: bool = False
    var_dir: Path = VAR_DIR

    database_url: str = ""
    redis_url: str = ""
    redis_max_connections: int = 1000
    redis_pool_timeout_s: int = 10

    twelvedata_api_key: str = ""
    twelvedata_ws_url: str = "wss://ws.twelvedata.com/v1/quotes/price"
    twelvedata_rest_url: str = "https://api.twelvedata.com"
    md_ws_symbols_max: int = 500
    marketsim_port: int = 8765
    marketsim_seed: int = 42
    md_heartbeat_s: int = 10
    md_ping_interval_s: int = 20
    md_pong_timeout_s: int = 10
    md_idle_timeout_s: int = 30
    md_backoff_max_s: int = 30
    md_fallback_after_s: int = 2
    md_rest_credits_per_minute: int = 0
    md_auth_retry_s: int = 300
    md_failed_retry_s: int = 300
    md_instruments_refresh_s: int = 30

    smtp_url: str = ""
    mail_from: str = "Trading Platform <no-reply@localhost>"

    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_region: str = "us-east-1"

    engine_shards: int = 1
    engine_batch_size: int = 500
    engine_block_ms: int = 5
    rollover_utc: str = "21:00"
    demo_deposit: Decimal = Decimal("10000")

    cookie_secure: bool = True
    access_token_minutes: int = 15
    refresh_token_days: int = 14
    session_idle_minutes: int = 1440
    admin_require_2fa: bool = False
    ratelimit_enabled: bool = True

    crm_webhook_url: str = ""
    crm_webhook_secret: str = ""
    crm_sso_secret: str = ""
    crm_inbound_webhook_secret: list[str] = field(default_factory=list)
    crm_api_rate_limit: str = "600/minute"
    webhook_retry_schedule: list[str] = field(
        default_factory=lambda: ["5s", "5m", "30m", "2h", "5h", "10h", "14h", "20h", "24h"]
    )
    webhook_timeout_s: int = 15

    metrics_token: str = ""
    proxy_fix_hops: int = 0
    force_https: bool = False
    engine_metrics_port: int = 0
    feed_metrics_port: int = 0
    worker_metrics_port: int = 0

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def is_development(self) -> bool:
        return self.app_env == "development"

    @property
    def uses_marketsim(self) -> bool:
        return not self.twelvedata_api_key


_CONVERTERS = {int: int, bool: _bool, Decimal: Decimal, str: str, Path: Path}


def _convert(name: str, type_name: object, raw: str) -> object:
    if type_name in ("list[str]",):
        return _list(raw)
    for key, conv in _CONVERTERS.items():
        if type_name in (key, key.__name__):
            try:
                return conv(raw)  # type: ignore[operator]
            except (ValueError, ArithmeticError) as exc:
                raise SettingsError(f"{name.upper()}: cannot read {raw!r}: {exc}") from exc
    raise SettingsError(f"unsupported setting type for {name}")


def load_dotenv_file(path: Path | None = None) -> None:
    """Read a .env file into os.environ without overriding variables already set."""
    path = path or BASE_DIR / ".env"
    if not path.is_file():
        return
    from dotenv import dotenv_values

    for key, value in dotenv_values(path).items():
        if value is not None and key not in os.environ:
            os.environ[key] = value


def from_env(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from environment variables; validate secrets for production."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(f.name.upper())
        if raw is None or raw == "":
            continue
        values[f.name] = _convert(f.name, f.type, raw)
    if "cookie_secure" not in values and env.get("APP_ENV", "development") != "production":
        values["cookie_secure"] = False if env.get("APP_ENV", "development") == "development" else True
    if "admin_require_2fa" not in values and env.get("APP_ENV") == "production":
        values["admin_require_2fa"] = True
    if "force_https" not in values and env.get("APP_ENV") == "production":
        values["force_https"] = True
    settings = Settings(**values)  # type: ignore[arg-type]
    validate(settings)
    return settings


def _is_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def validate(settings: Settings) -> None:
    """Refuse unsafe settings; in production, missing or placeholder secrets stop the process."""
    if settings.app_env not in ("development", "production", "test"):
        raise SettingsError(f"APP_ENV must be development, production or test, not {settings.app_env!r}")
    if settings.engine_shards < 1:
        raise SettingsError("ENGINE_SHARDS must be at least 1")
    if settings.web_db_pool_size < 1 or settings.web_db_max_overflow < 0:
        raise SettingsError("WEB_DB_POOL_SIZE must be at least 1 and WEB_DB_MAX_OVERFLOW at least 0")
    if settings.redis_max_connections < 1 or settings.redis_pool_timeout_s < 1:
        raise SettingsError("REDIS_MAX_CONNECTIONS must be at least 1 and REDIS_POOL_TIMEOUT_S at least 1")
    if not settings.is_production:
        return
    problems = []
    for name in ("secret_key", "jwt_secret_key", "data_encryption_key"):
        value = getattr(settings, name)
        if not value or _is_placeholder(value) or len(value) < SECRET_MIN_LENGTH:
            problems.append(f"{name.upper()} must be a random secret of at least {SECRET_MIN_LENGTH} characters")
    for name in ("database_url", "redis_url"):
        if not getattr(settings, name):
            problems.append(f"{name.upper()} must be set in production")
    if settings.crm_webhook_url and (not settings.crm_webhook_secret or _is_placeholder(settings.crm_webhook_secret)):
        problems.append("CRM_WEBHOOK_SECRET must be set when CRM_WEBHOOK_URL is set")
    if settings.crm_sso_secret and (
        _is_placeholder(settings.crm_sso_secret) or len(settings.crm_sso_secret) < SECRET_MIN_LENGTH
    ):
        problems.append(f"CRM_SSO_SECRET must be a random secret of at least {SECRET_MIN_LENGTH} characters")
    if not settings.cookie_secure:
        problems.append("COOKIE_SECURE cannot be off in production")
    if problems:
        raise SettingsError("refusing to start in production:\n  - " + "\n  - ".join(problems))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, read once (a .env file fills unset variables)."""
    load_dotenv_file()
    return from_env()
