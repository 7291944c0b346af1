"""gunicorn settings for the web role: gevent workers, bound from PORT/HOST."""

import os
import shutil
import tempfile

# Metrics of all worker processes are aggregated through files in this directory.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-web-")

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = 2000
timeout = 60
graceful_timeout = 20
keepalive = 30
accesslog = "-" if os.environ.get("ACCESS_LOG", "0") == "1" else None
# Path without the query string: SSO and e-mail tokens travel in query strings and must not be logged.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No runtime control socket: nothing here uses it, and every gunicorn on a host would share its path.
control_socket_disable = True


def post_fork(server, worker):
    """Make psycopg2 cooperate with gevent in each worker."""
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()


def post_worker_init(worker):
    """Take the loaded application out of the cyclic garbage collector's sight.

    Modules, classes, schemas and the app live as long as the worker; a full collection walked
    all of them (about 100 ms on the benchmark machine), stalling every request in flight on the
    worker. Frozen objects are never traversed again; request garbage is collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()


def on_starting(server):
    """Start with an empty metrics directory (stale files would double-count)."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    """Drop the gauges of a worker that exited."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
