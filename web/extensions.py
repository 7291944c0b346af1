"""Unbound extension objects, bound to the app in create_app()."""

from __future__ import annotations

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sock import Sock
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from web.openapi import PlatformApi

# One session per request (greenlet-local under gevent), removed at teardown.
db: scoped_session[Session] = scoped_session(sessionmaker(expire_on_commit=False))
migrate = Migrate()
jwt = JWTManager()
csrf = CSRFProtect()
sock = Sock()
api = PlatformApi()
limiter = Limiter(key_func=get_remote_address, strategy="moving-window", headers_enabled=True)
