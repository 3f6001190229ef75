# syntax=docker/dockerfile:1
# bounce-stream container image.
#   docker build -t bounce-stream:$(python3 -c 'import bounce_stream; print(bounce_stream.__version__)') .
# Stage 1 installs the locked dependencies into a venv (a layer of its own, rebuilt only when
# requirements.lock changes), then builds the project wheel with the locked build backend and
# adds it without dependencies; stage 2 copies only that venv onto a fresh slim Python, so no
# compiler, pip, setuptools, build backend, cache, source tree or test ends up in the image.
# .dockerignore admits only what the wheel is built from and the lock files.

# The base image. NOT YET PINNED BY DIGEST: the development machines cannot reach Docker Hub,
# so the digest could not be read, and none is made up here. To pin it, on a machine that
# reaches the registry:
#   docker buildx imagetools inspect python:3.11-slim        (the "Digest:" line), or
#   skopeo inspect --format '{{.Digest}}' docker://docker.io/library/python:3.11-slim
# then set the default below to python:3.11-slim@sha256:<64 hex digits> (keep the tag for
# readers; the digest wins). scripts/check-deploy.sh reports the missing pin, and fails on it
# with BOUNCE_STREAM_REQUIRE_BASE_DIGEST=1 (use that for release builds).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# 1. The runtime dependencies, exactly as locked (sha256 of every file, wheels only), into a
#    venv without pip: the base image's pip installs into it from outside.
COPY requirements.lock ./
RUN python -m venv --without-pip /opt/bounce-stream \
 && python -m pip --python /opt/bounce-stream/bin/python install \
      --require-hashes --only-binary :all: -r requirements.lock
# 2. The build backend (hatchling), locked too, in a venv that never reaches the image.
COPY requirements-build.lock ./
RUN python -m venv /opt/build \
 && /opt/build/bin/python -m pip install --require-hashes --only-binary :all: -r requirements-build.lock
# 3. The source: the project wheel, added without dependencies (step 1 has them all; pip check
#    proves it).
COPY pyproject.toml README.md LICENSE NOTICE CHANGELOG.md ./
COPY schemas/ schemas/
COPY bounce_stream/ bounce_stream/
RUN /opt/build/bin/python -m pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && python -m pip --python /opt/bounce-stream/bin/python install --no-deps --no-index /wheels/bounce_stream-*.whl \
 && python -m pip --python /opt/bounce-stream/bin/python check \
 && /opt/bounce-stream/bin/bounce-stream --version

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# Where the source of this image is published (the chart's Chart.yaml `sources` repeats it).
ARG SOURCE=https://git.example.org/bounce-stream/bounce-stream
LABEL org.opencontainers.image.title="bounce-stream" \
      org.opencontainers.image.description="Reads bounce mailboxes over IMAP and publishes exactly-once Avro bounce events to Kafka" \
      org.opencontainers.image.licenses="GPL-3.0-only" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"
# A fixed numeric UID/GID: Kubernetes' runAsNonRoot can only check a numeric USER. The base
# image's own pip, setuptools and wheel are of no use at run time (the venv does not see them).
RUN groupadd --system --gid 10001 bounce \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin bounce \
 && python -m pip uninstall --yes --quiet pip setuptools wheel
COPY --from=build /opt/bounce-stream /opt/bounce-stream
# BOUNCE_STREAM__METRICS__HOST: in a container /metrics, /healthz and /readyz must listen on
# every interface (the service's own default, elsewhere, is 127.0.0.1). Like every
# BOUNCE_STREAM__* variable it overrides the config file; set it to change the address.
ENV PATH=/opt/bounce-stream/bin:$PATH \
    BOUNCE_STREAM__METRICS__HOST=0.0.0.0 \
    BOUNCE_STREAM_REVISION=${REVISION} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
# /metrics, /healthz and /readyz.
EXPOSE 9108
ENTRYPOINT ["bounce-stream"]
CMD ["run", "--config", "/etc/bounce-stream/config.yaml"]
