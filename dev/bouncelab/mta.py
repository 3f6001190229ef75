"""What every MTA of the lab shares: its private work directory, its submission port, its
process, and the routes to the scripted servers."""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

NS_MARK = "BOUNCELAB_PRIVATE_NS"  # the mount namespace the lab was started in (lab.main)


def in_private_namespace() -> bool:
    """True in the namespace ``lab.main`` re-executed into (not the one it was started in)."""
    outer = os.environ.get(NS_MARK, "")
    try:
        return bool(outer) and os.readlink("/proc/self/ns/mnt") != outer
    except OSError:
        return False


def bind_mount(src: Path, dst: Path) -> None:
    """Mount ``src`` over ``dst``, in the lab's private mount namespace only."""
    if not in_private_namespace():
        raise RuntimeError("refusing to bind-mount over system paths outside a private namespace")
    subprocess.run(["mount", "--bind", str(src), str(dst)], check=True)


# The local delivery targets every MTA offers on local.lab.test (scenarios "local-*").
PIPE_FAIL_SCRIPT = '#!/bin/sh\necho "mailbox database unavailable" >&2\nexit 1\n'
QUOTA_BYTES = 20000  # the quota mailbox's size limit; the mailbox file is filled beyond it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class MtaRun:
    """One MTA instance: ``start()`` brings it up listening on 127.0.0.1:``submit_port``."""

    name: str
    root: Path  # the Debian packages, extracted
    work: Path  # private config, spool and logs
    remote_port: int
    dns_host: str
    submit_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    # Configuration lines appended to the MTA's own (a variant of its bounce, e.g. without the
    # returned original), in the MTA's syntax.
    extra: str = ""
    # The lab's cache directory (the extracted packages' parent): where optional instances'
    # software is installed (lab.OPTIONAL).
    lab_cache: Path | None = None

    def start(self) -> None:  # pragma: no cover - each MTA
        raise NotImplementedError

    def after_submit(self) -> None:
        """Called once every scenario's message is submitted (an MTA whose queue must be
        nudged, e.g. told that its retry time is over)."""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with _suppress():
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def log_tail(self) -> str:
        return ""

    def submit(self, sender: str, rcpts: list[str], data: bytes, options: list[str]) -> None:
        """Hand one message to the MTA (SMTP to ``submit_port``; ``options``: RCPT parameters);
        raises smtplib.SMTPException, or RuntimeError for a refusal."""
        with smtplib.SMTP("127.0.0.1", self.submit_port, local_hostname="client.lab.test",
                          timeout=20) as smtp:
            smtp.ehlo()
            refused = smtp.sendmail(sender, rcpts, data, rcpt_options=options)
        if refused:
            raise RuntimeError(f"refused at submission: {refused}")

    def env(self) -> dict[str, str]:
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "TZ": "UTC"}

    def spawn(self, argv: list[str], log: Path, cwd: Path | None = None) -> None:
        out = log.open("ab")
        self.proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=self.env(),
            start_new_session=True, cwd=cwd or self.work,
        )
        out.close()

    def wait_listening(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"{self.name} exited ({code}): {self.log_tail()}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.submit_port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} is not listening on {self.submit_port}: {self.log_tail()}")


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], ProcessLookupError)  # type: ignore[arg-type]


def fresh_dir(path: Path, mode: int = 0o755) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    path.chmod(mode)
    return path


def chown(path: Path, user: str, group: str | None = None) -> None:
    shutil.chown(path, user, group or user)


def full_mailbox(path: Path) -> None:
    """A mailbox file already over ``QUOTA_BYTES``, writable by anyone (the delivery user)."""
    with path.open("w") as f:
        f.write("From old@lab.test Thu Jan  1 00:00:00 2026\nSubject: old\n\n")
        f.write("x" * (QUOTA_BYTES * 2) + "\n\n")
    path.chmod(0o666)


def pipe_fail_command(work: Path) -> Path:
    """A delivery command that fails (exit 1, a line on stderr), runnable by anyone."""
    path = work / "deliver-fail.sh"
    path.write_text(PIPE_FAIL_SCRIPT)
    path.chmod(0o755)
    return path
