"""The image's install path without a Docker engine: wheel -> fresh venv -> the real service."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from dev.stack import DovecotServer, KafkaNode
from tests.integration.pipeline import (
    REPO,
    ServiceProcess,
    Setup,
    events,
    make_dsn,
    recipients,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheel_venv(stack_dir: Path) -> Path:
    """A fresh virtual environment as the image builds it: requirements.lock with
    --require-hashes, then the project's wheel without dependencies."""
    wheels = stack_dir / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("bounce_stream-*.whl")
    target = stack_dir / "wheel-venv"
    # No pip inside (ensurepip costs ~5 s): this pip installs into the venv's interpreter.
    venv.EnvBuilder(with_pip=False).create(target)
    pip = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(target / "bin" / "python"),
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run(
        [*pip, "--require-hashes", "--only-binary", ":all:", "-r", str(REPO / "requirements.lock")],
        check=True,
        timeout=600,
    )
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, timeout=300)
    return target


def test_installed_wheel_runs_the_service(
    wheel_venv: Path,
    kafka: KafkaNode,
    dovecot: DovecotServer,
    imap_user: tuple[str, str],
    stack_dir: Path,
) -> None:
    """The installed console script answers --help and publishes with its packaged schemas."""
    cli = wheel_venv / "bin" / "bounce-stream"
    help_text = subprocess.run(
        [str(cli), "--help"], capture_output=True, text=True, check=True, cwd=stack_dir
    ).stdout
    assert "run" in help_text and "parse" in help_text
    user, password = imap_user
    setup = Setup.create(kafka, dovecot, user, password, stack_dir)
    rcpts = recipients("w", 5)
    setup.append([make_dsn(r) for r in rcpts])
    svc = ServiceProcess(setup, command=[str(cli)])
    try:
        svc.wait_ready()
        wait_for_checkpoint(setup, 5)
    finally:
        code = svc.stop()
    assert code == 0, svc.log()
    assert sorted(k for k, _, _ in events(setup)) == sorted(r.lower() for r in rcpts)
