#!/bin/sh
# Container entry point: the first argument picks the role.
#   web | engine | feed | worker | marketsim | migrate | seed | <any command>
set -e
role="${1:-web}"
[ $# -gt 0 ] && shift
case "$role" in
  web)       exec gunicorn -c gunicorn.conf.py --bind "${HOST:-0.0.0.0}:${PORT:-8000}" wsgi:app "$@" ;;
  engine)    exec python -m engine "$@" ;;
  feed)      exec python -m feed "$@" ;;
  worker)    exec python -m workers "$@" ;;
  marketsim) exec python -m feed.marketsim --host "${MARKETSIM_HOST:-0.0.0.0}" "$@" ;;
  migrate)   exec flask --app wsgi db upgrade "$@" ;;
  seed)      exec flask --app wsgi seed "$@" ;;
  *)         exec "$role" "$@" ;;
esac
