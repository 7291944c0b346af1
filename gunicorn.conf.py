"""gunicorn settings for the web role: gevent workers, bound from PORT/HOST."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = 2000
timeout = 60
graceful_timeout = 20
keepalive = 30
accesslog = "-" if os.environ.get("ACCESS_LOG", "0") == "1" else None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    """Make psycopg2 cooperate with gevent in each worker."""
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
