# syntax=docker/dockerfile:1
# Multi-stage: Node builds the SPA; one Python image runs every role (see docker/entrypoint.sh).

FROM node:20-bookworm-slim AS frontend
WORKDIR /build/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    APP_ENV=production \
    LOG_JSON=true \
    HOST=0.0.0.0 \
    PORT=8000
RUN groupadd --system app && useradd --system --gid app --home /app app
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --chown=app:app . .
COPY --from=frontend --chown=app:app /build/frontend/dist ./frontend/dist
USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/api/healthz', timeout=2)" || exit 1
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
