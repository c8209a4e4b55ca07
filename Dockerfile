# Gangplank: one image for web, worker and beat (see docker-compose.yml and the Procfile).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GANGPLANK_DATA_DIR=/var/lib/gangplank

# git and psql are used by the example catalogue's playbooks; bubblewrap is every run's
# sandbox, openssh-client reaches the inventories' hosts (ssh, ssh-agent).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git postgresql-client bubblewrap openssh-client \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 gangplank \
    && mkdir -p /var/lib/gangplank && chown gangplank /var/lib/gangplank

WORKDIR /app
COPY pyproject.toml README.md ./
COPY platform ./platform
RUN pip install --no-cache-dir "setuptools<81" wheel \
    && pip install --no-cache-dir --no-build-isolation "xstatic-bootstrap>=5.3.8" \
    && pip install --no-cache-dir -e .
COPY manage.py Procfile ./
COPY deploy/entrypoint.sh ./deploy/
COPY templates ./templates
COPY static ./static
COPY playbooks ./playbooks

# Static files are collected at build time; WhiteNoise serves them.
RUN SECRET_KEY=build-only GANGPLANK_DATA_DIR=/app/var python manage.py collectstatic --noinput -v 0 \
    && chown -R gangplank /app/var
ENV STATIC_ROOT=/app/var/static

USER gangplank
EXPOSE 8000
# Every container prepares the data dir (folders, generated keys) before its command.
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["gunicorn", "gangplank.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
