# syntax=docker/dockerfile:1
# bounce-stream container image.
#   docker build -t bounce-stream:$(python3 -c 'import bounce_stream; print(bounce_stream.__version__)') .
# Stage 1 builds the project wheel and installs it with its dependencies into a venv;
# stage 2 copies only that venv onto a fresh slim Python, so no compiler, pip cache, source tree
# or test ends up in the image. .dockerignore admits only what the wheel is built from.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE NOTICE CHANGELOG.md ./
COPY schemas/ schemas/
COPY bounce_stream/ bounce_stream/
# The wheel of the project and of every dependency, then an install from those wheels only.
RUN python -m pip wheel --wheel-dir /wheels . \
 && python -m venv /opt/bounce-stream \
 && /opt/bounce-stream/bin/python -m pip install --no-index --find-links /wheels /wheels/bounce_stream-*.whl \
 && /opt/bounce-stream/bin/python -m pip uninstall --yes pip \
 && /opt/bounce-stream/bin/bounce-stream --version

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="bounce-stream" \
      org.opencontainers.image.description="Reads bounce mailboxes over IMAP and publishes exactly-once Avro bounce events to Kafka" \
      org.opencontainers.image.licenses="GPL-3.0-only" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"
# A fixed numeric UID/GID: Kubernetes' runAsNonRoot can only check a numeric USER.
RUN groupadd --system --gid 10001 bounce \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin bounce
COPY --from=build /opt/bounce-stream /opt/bounce-stream
ENV PATH=/opt/bounce-stream/bin:$PATH \
    BOUNCE_STREAM_REVISION=${REVISION} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
# /metrics, /healthz and /readyz (config metrics.host must be 0.0.0.0 in a container).
EXPOSE 9108
ENTRYPOINT ["bounce-stream"]
CMD ["run", "--config", "/etc/bounce-stream/config.yaml"]
