"""The hash-locked requirement files and the image that installs them (scripts/lock.sh)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bounce_stream.settings import MetricsSettings

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")

_PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def _pins(name: str) -> dict[str, tuple[str, list[str]]]:
    """Package -> (version, sha256 hashes) of one lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for line in (REPO / name).read_text(encoding="utf-8").splitlines():
        if match := _PIN.match(line):
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), [])
        elif line.strip().startswith("--hash=sha256:"):
            pins[current][1].append(line.strip().split(":", 1)[1].rstrip(" \\"))
    return pins


RUNTIME = _pins("requirements.lock")
BUILD = _pins("requirements-build.lock")
TEST = _pins("requirements-test.lock")


def _assert_locked(requirements: list[str], *locks: dict[str, tuple[str, list[str]]]) -> None:
    for text in requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        found = [lock[name][0] for lock in locks if name in lock]
        assert found, f"{req.name} is not in the lock files: run scripts/lock.sh"
        assert req.specifier.contains(found[0], prereleases=True), (
            f"{req.name}=={found[0]} is outside pyproject's {req.specifier}: run scripts/lock.sh"
        )


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    """Each [project].dependencies entry is pinned in requirements.lock at a version it allows."""
    _assert_locked(PYPROJECT["project"]["dependencies"], RUNTIME)


def test_every_test_and_build_requirement_is_pinned_within_its_range() -> None:
    """The test extra and the build backend are pinned, in the test lock or the runtime lock."""
    _assert_locked(PYPROJECT["project"]["optional-dependencies"]["test"], TEST, RUNTIME)
    _assert_locked(PYPROJECT["build-system"]["requires"], BUILD)
    _assert_locked(PYPROJECT["build-system"]["requires"], TEST)


def test_every_pin_carries_sha256_hashes() -> None:
    """pip --require-hashes needs a 64-hex sha256 for each pinned package of every lock file."""
    for lock in (RUNTIME, BUILD, TEST):
        assert lock
        for name, (_, hashes) in lock.items():
            assert hashes, name
            assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


def test_locks_installed_together_share_no_package_and_agree_on_versions() -> None:
    """The test lock omits the runtime lock's packages (installed side by side), and every
    package in two lock files has one version."""
    assert not set(RUNTIME) & set(TEST)
    for other in (BUILD, TEST):
        for name in set(RUNTIME) & set(other):
            assert RUNTIME[name][0] == other[name][0], name
    for name in set(BUILD) & set(TEST):
        assert BUILD[name][0] == TEST[name][0], name


def test_image_installs_the_lock_before_it_copies_the_source() -> None:
    """The Dockerfile installs requirements.lock with --require-hashes in a layer that comes
    before any source is copied, so a source change does not rebuild the dependencies."""
    lines = DOCKERFILE.splitlines()
    copy_lock = lines.index("COPY requirements.lock ./")
    install = next(i for i, line in enumerate(lines) if "--require-hashes" in line)
    copy_source = lines.index("COPY bounce_stream/ bounce_stream/")
    assert copy_lock < install < copy_source
    assert "-r requirements.lock" in "\n".join(lines[install : install + 2])
    assert re.search(r"pip wheel --no-deps --no-build-isolation", DOCKERFILE)


def test_image_listens_on_all_interfaces_while_the_service_default_stays_loopback() -> None:
    """Only the image sets metrics.host to 0.0.0.0 (an environment override); the settings'
    own default is 127.0.0.1."""
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    assert re.search(r"^\s+BOUNCE_STREAM__METRICS__HOST=0\.0\.0\.0 \\$", runtime, flags=re.M)
    assert MetricsSettings().host == "127.0.0.1"


def test_image_source_label_is_the_charts_source() -> None:
    """org.opencontainers.image.source comes from ARG SOURCE, whose default is the first of
    the chart's `sources`."""
    chart = yaml.safe_load((REPO / "helm/bounce-stream/Chart.yaml").read_text(encoding="utf-8"))
    assert re.findall(r"^ARG SOURCE=(\S+)$", DOCKERFILE, flags=re.M) == [chart["sources"][0]]
    assert 'org.opencontainers.image.source="${SOURCE}"' in DOCKERFILE
