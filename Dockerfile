# The intake service: one uvicorn process per container; scale with `docker compose up --scale app=N`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies and the code (a regular install, not editable).
COPY pyproject.toml README.md ./
COPY intake ./intake
COPY bot ./bot
COPY triage ./triage
COPY routing ./routing
RUN pip install . \
    && rm -rf intake bot triage routing build *.egg-info

# Knowledge packs (also mounted from the host by docker-compose.yml so admins can edit and reload them).
COPY knowledge ./knowledge

# Never run as root. var/ holds the SQLite file and the generated secret when run without compose.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home intake \
    && mkdir -p /app/var \
    && chown intake:intake /app/var
USER intake

ENV INTAKE_KNOWLEDGE_DIR=/app/knowledge \
    DATABASE_URL=sqlite:////app/var/intake.db

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

CMD ["intake", "serve", "--host", "0.0.0.0", "--port", "8000"]
