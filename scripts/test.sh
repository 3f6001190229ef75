#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then
#   1. lint and types (ruff, mypy --strict on the package),
#   2. deployment checks (Helm chart, manifests, alert rules, Dockerfile, image install path),
#   3. pytest: unit tests and integration tests against real Kafka and Dovecot on 127.0.0.1.
# Exits non-zero on the first failing stage.
set -Eeuo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

stage() { printf '\n======== %s\n' "$*"; }

stage "bootstrap (Debian packages, .venv, Kafka classpath)"
scripts/bootstrap.sh
PY="$REPO/.venv/bin/python"

stage "ruff"
"$PY" -m ruff check bounce_stream tests dev benchmarks examples

stage "mypy --strict (package)"
"$PY" -m mypy

stage "regex audit (super-linear backtracking)"; "$PY" benchmarks/audit_regexes.py
stage "deployment checks"
scripts/check-deploy.sh

stage "pytest (unit + integration, real Kafka and Dovecot)"
"$PY" -m pytest tests -p no:cacheprovider --durations=15 "$@"
