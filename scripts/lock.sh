#!/usr/bin/env bash
# Regenerates the hash-locked requirement files from pyproject.toml. Run it after changing a
# dependency range in pyproject.toml, or with --upgrade to move every pin to the newest version
# the ranges allow; commit the three files with the change that needs them.
#
#   requirements.lock        the runtime dependencies ([project].dependencies): what the image
#                            installs, and the first file every install (CI, bootstrap) uses
#   requirements-build.lock  the build backend ([build-system].requires, hatchling): the image's
#                            build stage builds the project wheel with it, without build isolation
#   requirements-test.lock   the `test` extra, the build backend and `editables` (hatchling's
#                            editable build of this project needs it), MINUS everything already in
#                            requirements.lock (same versions, enforced with -c): installed beside
#                            requirements.lock into the development .venv by scripts/bootstrap.sh,
#                            which then installs the project itself editable, --no-deps
#                            --no-build-isolation (so nothing unlocked is fetched)
#
# Every package is pinned with the sha256 of each of its files on the index, so
# `pip install --require-hashes` refuses anything else. The pins are universal for Python >= 3.11
# (markers where a platform differs) and wheels only (the image's build stage has no compiler).
# Existing pins are kept unless --upgrade is given (or a range no longer allows them).
#
# Tool: uv (PyPI package `uv`, pinned below), installed once into a cached venv.
#   BOUNCE_STREAM_CACHE   cache root (default: $HOME/.cache/bounce-stream)
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${BOUNCE_STREAM_CACHE:-$HOME/.cache/bounce-stream}"
UV_VERSION=0.13.8
UV_VENV="$CACHE/uv-$UV_VERSION"
UV="$UV_VENV/bin/uv"
PYTHON_VERSION=3.11

upgrade=()
case "${1:-}" in
    "") ;;
    --upgrade) upgrade=(--upgrade) ;;
    *) printf 'usage: scripts/lock.sh [--upgrade]\n' >&2; exit 2 ;;
esac

if [ ! -x "$UV" ]; then
    printf '==> uv %s into %s\n' "$UV_VERSION" "$UV_VENV"
    python3 -m venv "$UV_VENV"
    "$UV_VENV/bin/python" -m pip install --disable-pip-version-check -q "uv==$UV_VERSION"
fi

cd "$REPO"
common=(--generate-hashes --universal --python-version "$PYTHON_VERSION" --only-binary :all:
        --custom-compile-command "scripts/lock.sh" --quiet "${upgrade[@]}")

printf '==> requirements.lock\n'
"$UV" pip compile pyproject.toml "${common[@]}" -o requirements.lock

build_requires() {
    python3 -c 'import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["build-system"]["requires"]))' pyproject.toml
}

printf '==> requirements-build.lock\n'
build_requires | "$UV" pip compile - "${common[@]}" -c requirements.lock -o requirements-build.lock

printf '==> requirements-test.lock\n'
no_emit=()
while IFS= read -r name; do
    no_emit+=(--no-emit-package "$name")
done < <(sed -n 's/^\([A-Za-z0-9._-]*\)==.*/\1/p' requirements.lock)
# editables: what `hatchling.build.get_requires_for_build_editable()` asks for here.
{ build_requires; echo 'editables~=0.3'; } | "$UV" pip compile pyproject.toml - --extra test "${common[@]}" \
    -c requirements.lock "${no_emit[@]}" -o requirements-test.lock

printf '==> done: %s runtime, %s build, %s test packages pinned\n' \
    "$(grep -c '^[A-Za-z0-9]' requirements.lock)" \
    "$(grep -c '^[A-Za-z0-9]' requirements-build.lock)" \
    "$(grep -c '^[A-Za-z0-9]' requirements-test.lock)"
