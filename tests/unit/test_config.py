from decimal import Decimal

import pytest

from config import SettingsError, from_env

GOOD_SECRETS = {
    "SECRET_KEY": "k" * 16 + "0123456789abcdef0123",
    "JWT_SECRET_KEY": "j" * 16 + "0123456789abcdef0123",
    "DATA_ENCRYPTION_KEY": "d" * 16 + "0123456789abcdef0123",
    "DATABASE_URL": "postgresql://db/prod",
    "REDIS_URL": "redis://redis:6379/0",
}


def test_development_defaults_need_no_environment():
    settings = from_env({})
    assert settings.app_env == "development"
    assert settings.cookie_secure is False
    assert settings.engine_shards == 1
    assert settings.uses_marketsim


def test_values_are_typed():
    settings = from_env({"ENGINE_SHARDS": "4", "COOKIE_SECURE": "yes", "DEMO_DEPOSIT": "2500.50", "PORT": "9000"})
    assert settings.engine_shards == 4
    assert settings.cookie_secure is True
    assert settings.demo_deposit == Decimal("2500.50")
    assert settings.port == 9000


def test_inbound_webhook_secrets_are_a_list_for_rotation():
    settings = from_env({"CRM_INBOUND_WEBHOOK_SECRET": "whsec_a, whsec_b"})
    assert settings.crm_inbound_webhook_secret == ["whsec_a", "whsec_b"]


def test_bad_number_is_a_clear_error():
    with pytest.raises(SettingsError, match="ENGINE_SHARDS"):
        from_env({"ENGINE_SHARDS": "many"})


def test_unknown_app_env_is_refused():
    with pytest.raises(SettingsError, match="APP_ENV"):
        from_env({"APP_ENV": "staging"})


def test_production_refuses_placeholder_secrets():
    env = {**GOOD_SECRETS, "APP_ENV": "production", "SECRET_KEY": "change-me-change-me-change-me-change-me"}
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        from_env(env)


def test_production_refuses_missing_secrets_and_services():
    with pytest.raises(SettingsError) as info:
        from_env({"APP_ENV": "production"})
    message = str(info.value)
    for name in ("SECRET_KEY", "JWT_SECRET_KEY", "DATA_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"):
        assert name in message


def test_production_with_real_secrets_starts_with_secure_cookies_and_admin_2fa():
    settings = from_env({**GOOD_SECRETS, "APP_ENV": "production"})
    assert settings.cookie_secure is True
    assert settings.admin_require_2fa is True


def test_production_refuses_insecure_cookies():
    with pytest.raises(SettingsError, match="COOKIE_SECURE"):
        from_env({**GOOD_SECRETS, "APP_ENV": "production", "COOKIE_SECURE": "false"})


def test_web_pool_sizes_are_read_and_checked():
    settings = from_env({"WEB_DB_POOL_SIZE": "7", "WEB_DB_MAX_OVERFLOW": "0"})
    assert (settings.web_db_pool_size, settings.web_db_max_overflow) == (7, 0)
    with pytest.raises(SettingsError, match="WEB_DB_POOL_SIZE"):
        from_env({"WEB_DB_POOL_SIZE": "0"})
    with pytest.raises(SettingsError, match="WEB_DB_MAX_OVERFLOW"):
        from_env({"WEB_DB_MAX_OVERFLOW": "-1"})


def test_redis_pool_limits_are_read_and_checked():
    settings = from_env({"REDIS_MAX_CONNECTIONS": "50", "REDIS_POOL_TIMEOUT_S": "3"})
    assert (settings.redis_max_connections, settings.redis_pool_timeout_s) == (50, 3)
    with pytest.raises(SettingsError, match="REDIS_MAX_CONNECTIONS"):
        from_env({"REDIS_MAX_CONNECTIONS": "0"})
    with pytest.raises(SettingsError, match="REDIS_POOL_TIMEOUT_S"):
        from_env({"REDIS_POOL_TIMEOUT_S": "0"})
