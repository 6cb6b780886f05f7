# GPT Answers, production: Hypercorn serving the app as an unprivileged user.
# The base is Debian trixie (its own python3 is 3.13); README "Deployment" says why
# and how .ci/images makes localhost/debian:trixie-slim without a registry.
ARG BASE_IMAGE=localhost/debian:trixie-slim
# Certificate authorities for npm and pip; a build behind a TLS-inspecting proxy mounts its own.
ARG CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

# Front-end assets: htmx and its SSE extension from the npm registry, as package-lock.json pins them.
FROM ${BASE_IMAGE} AS assets
ARG CA_BUNDLE
# Debian stable's own packages: pinning their versions would break on every security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --cafile "$CA_BUNDLE" \
 && mkdir vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-sse/dist/sse.min.js vendor/

# Python 3.13 from Debian and the unprivileged user, shared by the build stage and the runtime.
FROM ${BASE_IMAGE} AS python
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 answers \
 && useradd --uid 10001 --gid answers --no-create-home --home-dir /app --shell /usr/sbin/nologin answers \
 && install -d -m 0700 -o answers -g answers /app/instance

# The pinned runtime dependencies, in a virtual environment copied whole into the runtime.
FROM python AS venv
ARG CA_BUNDLE
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --cert "$CA_BUNDLE" --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
 && /opt/venv/bin/pip uninstall --yes --quiet pip

FROM python AS runtime
WORKDIR /app
COPY --from=venv /opt/venv /opt/venv
COPY app/ app/
COPY templates/ templates/
COPY static/ static/
COPY --from=assets /build/vendor/ static/vendor/
COPY deploy/hypercorn_config.py deploy/
# Secrets (OPENAI_KEY, DB_PASSWORD, SECRET_KEY…) are given with -e at run time, never here.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=5000 \
    INSTANCE_PATH=/app/instance \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics
USER 10001:10001
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '5000'), timeout=4)"]
CMD ["hypercorn", "--config", "file:deploy/hypercorn_config.py", "app:create_app()"]
