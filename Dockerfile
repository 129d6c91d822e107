# lip in a container: a slim Python base, lip installed with its Redis extra, run as a non-root user.
#
#   docker build -t lip .
#   docker run -p 8000:8000 -e LIP_API_KEY=$(openssl rand -hex 32) -e OPENAI_API_KEY \
#     -v ./lip.yaml:/etc/lip/lip.yaml:ro lip
#
# The config (and a keys file next to it, server.client_keys_file: keys.yaml) comes by mount at /etc/lip; every
# secret (client keys, provider keys, LIP_REDIS_URL) by environment, never in the image. lip serves 0.0.0.0 here,
# so it needs a client key (LIP_API_KEY or a keys file); /healthz answers without one. See docs/operations.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/lip
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install '.[redis]' \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin lip \
    && mkdir -p /etc/lip \
    && rm -rf /opt/lip/src
COPY deploy/lip.yaml /etc/lip/lip.yaml

USER lip
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["lip", "serve"]
CMD ["--config", "/etc/lip/lip.yaml", "--host", "0.0.0.0", "--port", "8000"]
