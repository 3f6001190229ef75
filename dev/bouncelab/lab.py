"""The lab's driver: far side up, each MTA up (in parallel), one message per scenario through
each, bounces collected, files and labels written.

Run through scripts/bounce-lab.sh (which installs the MTAs' packages into a private root); the
driver re-executes itself in a private mount namespace (``unshare -m``) where the MTAs see only
the lab's resolver in /etc/resolv.conf, so no lookup leaves the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.utils
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from email.message import Message
from functools import partial
from pathlib import Path

from dev.bouncelab import scenarios as sc
from dev.bouncelab.chasquid import Chasquid
from dev.bouncelab.courier import Courier
from dev.bouncelab.dma import Dma
from dev.bouncelab.exim import Exim
from dev.bouncelab.haraka import Haraka
from dev.bouncelab.haraka import installed as haraka_installed
from dev.bouncelab.mta import NS_MARK, MtaRun, bind_mount, in_private_namespace
from dev.bouncelab.opendmarc import PostfixDmarc
from dev.bouncelab.opensmtpd import OpenSmtpd
from dev.bouncelab.postfix import Postfix
from dev.bouncelab.remote import Received, RemoteSide
from dev.bouncelab.sendmail import Sendmail


def _factories() -> dict[str, Callable[..., MtaRun]]:
    """Every lab instance by name: the MTAs as configured by default, and variants (``family_x``,
    see ``scenarios.family``) whose bounces leave out the original or its MIME structure."""
    return {
        "postfix": Postfix, "exim": Exim, "opensmtpd": OpenSmtpd, "sendmail": Sendmail,
        "courier": Courier,
        # Originals over bounce_size_limit come back as their header only (text/rfc822-headers).
        "postfix_headers": partial(Postfix, extra="bounce_size_limit = 1\n"),
        # Only the original's header (text/rfc822-headers). bounce_return_message = false
        # makes no variant: run here, Exim 4.96 still returned the whole original (its DSN
        # bounces follow RET= and bounce_return_body).
        "exim_headers": partial(Exim, extra="bounce_return_body = false\n"),
        # Plain-text bounces (no multipart/report, no delivery-status part): SendMimeErrors off.
        "sendmail_plain": partial(Sendmail, extra="define(`confMIME_FORMAT_ERRORS', `False')dnl\n"),
        # The postmaster's copies of Postfix's bounces ("Postmaster Copy: Undelivered Mail":
        # transcript and delivery status, the original's header only); the senders' bounces
        # are discarded.
        "postfix_notice": partial(Postfix, notices=True),
        # DMARC failure reports (ARF) from OpenDMARC, a milter of this Postfix.
        "postfix_dmarc": PostfixDmarc,
        # Plain-text bounces with the original's header only, by an MTA with no SMTP listener.
        "dma": Dma,
        # A Go MTA that writes its own DSNs (a message/global-delivery-status part).
        "chasquid": Chasquid,
        # Node.js; optional (OPTIONAL): its npm package is installed on request only.
        "haraka": Haraka,
    }


# Instances whose software the lab installs only on request (scripts/bounce-lab.sh
# --install-haraka): run when installed, else left out of a full run with a line in the report.
OPTIONAL: dict[str, tuple[Callable[[Path], bool], str]] = {
    "haraka": (haraka_installed, "scripts/bounce-lab.sh --install-haraka"),
}


def instances() -> tuple[str, ...]:
    """The name of every lab instance (MTA or variant), in the order they are run."""
    return tuple(_factories())


def _private_mounts(dns_host: str, work: Path, root: Path) -> None:
    """In this mount namespace alone: /etc/resolv.conf names only the lab's resolver, the
    machine's name resolves, and the paths MTAs compile in (/var/spool, /run, /usr/libexec) are
    private directories (the last one the extracted packages' own)."""
    if not in_private_namespace():
        raise RuntimeError("refusing to bind-mount over system paths outside a private namespace")
    conf = work / "resolv.conf"
    # The lab's resolver answers every query at once, but it is a Python thread beside the
    # remote SMTP servers of every MTA: on a loaded machine (the test suite runs in parallel
    # processes) an answer can take over a second, and a lookup that timed out made an MTA
    # report a temporary DNS failure instead of the scenario's (seen once in CI with
    # timeout:1 attempts:1). Generous, since an answer always comes.
    conf.write_text(f"nameserver {dns_host}\noptions timeout:5 attempts:3\n")
    conf.chmod(0o644)
    # The machine's own name resolves from files (Sendmail sleeps a minute when it cannot
    # qualify it, and the lab's resolver knows no name at all).
    hosts = work / "hosts"
    name = socket.gethostname()
    hosts.write_text(Path("/etc/hosts").read_text() + f"\n127.0.1.1 {name}.lab.test {name}\n")
    hosts.chmod(0o644)
    mounts = [(conf, Path("/etc/resolv.conf")), (hosts, Path("/etc/hosts"))]
    for name in ("var-spool", "run"):
        (work / name).mkdir(mode=0o755)
    mounts += [(work / "var-spool", Path("/var/spool")), (work / "run", Path("/run"))]
    if (root / "usr/libexec").is_dir():
        mounts.append((root / "usr/libexec", Path("/usr/libexec")))
    for src, dst in mounts:
        bind_mount(src, dst)


def _reachable_root(root: Path) -> Path:
    """The extracted packages at a path every MTA user can traverse, in this namespace alone.

    The cache usually lives in root's home (0700), and a program that switches users before the
    loader reads its libraries (Courier's couriertcpd starting courieresmtpd as courier) cannot
    load them from there. The mount point is its own empty directory, never inside a tree that
    is removed recursively: only ``rmdir`` touches it after the unmount.
    """
    view = Path(tempfile.mkdtemp(prefix="bounce-lab-root-", dir="/tmp"))
    view.chmod(0o755)
    bind_mount(root, view)
    return view


def _release_root(view: Path) -> None:
    # Lazy: an MTA process still ending may hold a file of the tree open (EBUSY).
    subprocess.run(["umount", "--lazy", str(view)], check=False, capture_output=True)
    with contextlib.suppress(OSError):
        view.rmdir()  # fails, harmlessly, while still mounted


def _message(mta: str, s: sc.Scenario, rcpts: list[str], n: int) -> bytes:
    sender = sc.sender(mta, s)
    body = "".join(f"Line {i} of an ordinary test message.\n" for i in range(12))
    return (
        f"From: Lab Sender <{sender}>\n"
        f"To: {', '.join(rcpts)}\n"
        f"Subject: Lab message {n}\n"
        f"Date: {email.utils.formatdate(usegmt=True)}\n"
        f"Message-ID: {sc.message_id(mta, s, str(time.time_ns()))}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        f"{body}"
    ).replace("\n", "\r\n").encode()


def _submit(run: MtaRun, scenarios: list[sc.Scenario], log: list[str]) -> None:
    for n, s in enumerate(scenarios, 1):
        rcpts = sc.envelope(s)
        options = ["NOTIFY=SUCCESS,FAILURE,DELAY"] if s.stage == "SUCCESS" else []
        try:
            run.submit(sc.sender(run.name, s), rcpts, _message(run.name, s, rcpts, n), options)
        except (smtplib.SMTPException, RuntimeError, OSError) as e:
            log.append(f"{run.name} {s.name}: submission failed: {e}")


def _applicable(mta: str) -> list[sc.Scenario]:
    return [s for s in sc.SCENARIOS if s.applies_to(mta)]


def _bounces(received: list[Received]) -> dict[tuple[str, str], list[Received]]:
    out: dict[tuple[str, str], list[Received]] = defaultdict(list)
    for m in received:
        for rcpt in m.rcpt_tos:
            if rcpt.lower().endswith("@" + sc.NOTICE_DOMAIN):  # a postmaster's copy (sent from
                # double-bounce@), a DMARC failure report (from the filter's user)
                key = sc.scenario_of_message_id(m.data.decode("latin-1"))
            elif m.mail_from in ("", "<>"):
                key = sc.scenario_of_sender(rcpt)
            else:
                key = None
            if key is not None:
                out[(key[0], key[1].name)].append(m)
    return out


# Where a plain-text bounce's own report ends: Sendmail's session transcript (which names
# recipients it deferred, not failed), a returned header (its To: names every recipient).
_REPORT_END = re.compile(
    r"(?m)^\s*-+ Transcript of session follows -+|^Message headers follow\.|^Received: "
    r"|^Return-Path: ")


def _report_text(data: bytes) -> tuple[str, str]:
    """(the delivery-status fields, the human-readable text) of a bounce, without the returned
    original message (whose To: names every recipient)."""
    msg = email.message_from_bytes(data)
    fields, text = [], []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers"):
            break
        if ctype in ("message/delivery-status", "message/feedback-report"):
            for block in part.get_payload() if part.is_multipart() else []:
                fields.append(block.as_string() if isinstance(block, Message) else str(block))
            if not part.is_multipart():
                fields.append(str(part.get_payload()))
        elif part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                body = payload.decode("latin-1")
                end = _REPORT_END.search(body)
                text.append(body[: end.start()] if end else body)
    return "\n".join(fields).lower(), "\n".join(text).lower()


def _order(data: bytes, rcpts: dict[str, sc.Label]) -> list[tuple[str, sc.Label]]:
    """The expected recipients this bounce reports, in its order: the order of its
    delivery-status blocks, else the order its text first names them."""
    fields, text = _report_text(data)
    found = []
    for rcpt, label in rcpts.items():
        r = rcpt.lower()
        pos = fields.find(r) if fields else text.find(r)
        if pos >= 0:
            found.append((pos, rcpt, label))
    if not found and b"message/feedback-report" in data.lower():
        # A failure report without Original-Rcpt-To: the recipients of the reported message
        # (its header comes back).
        whole = data.decode("latin-1").lower()
        found = [(whole.find(r.lower()), r, label) for r, label in rcpts.items()
                 if r.lower() in whole]
    if not found:  # an auto-reply names its recipient in From: only
        sender = email.utils.parseaddr(email.message_from_bytes(data).get("From", ""))[1]
        found = [(0, rcpt, label) for rcpt, label in rcpts.items()
                 if rcpt.lower() == sender.lower()]
    return [(r, lab) for _, r, lab in sorted(found)]


def run_lab(out_dir: Path, root: Path, mtas: list[str] | None, timeout: float,
            keep: bool) -> int:
    """Run ``mtas`` (None: every instance, but the optional ones not installed)."""
    factories = _factories()
    lab_cache = root.parent  # the lab cache: the extracted packages, optional installs
    log: list[str] = []
    if mtas is None:
        mtas = []
        for name in factories:
            check = OPTIONAL.get(name)
            if check is not None and not check[0](lab_cache):
                log.append(f"{name}: left out, not installed ({check[1]})")
            else:
                mtas.append(name)
    unknown = [m for m in mtas if m not in factories]
    if unknown:
        print(f"bounce-lab: unknown MTA(s) {unknown}; have {sorted(factories)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bounce-lab-", dir="/tmp"))
    work.chmod(0o755)
    remote = RemoteSide()
    remote.start()
    _private_mounts(remote.dns_host, work, root)
    root = _reachable_root(root)
    runs: list[MtaRun] = []
    try:
        for name in mtas:
            runs.append(factories[name](name=name, root=root, work=work / name,
                                        remote_port=remote.port, dns_host=remote.dns_host,
                                        lab_cache=lab_cache))
        threads = []
        for run in runs:
            def go(run: MtaRun = run) -> None:
                try:
                    run.work.mkdir(parents=True, exist_ok=True)
                    run.start()
                    _submit(run, _applicable(run.name), log)
                    run.after_submit()
                except Exception as e:
                    log.append(f"{run.name}: {e}")
            t = threading.Thread(target=go)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        wanted = {(r.name, s.name) for r in runs for s in _applicable(r.name)}
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        seen = -1
        while time.monotonic() < deadline:
            snapshot = remote.collector.snapshot()
            got = _bounces(snapshot)
            if len(snapshot) != seen:
                seen, quiet_since = len(snapshot), time.monotonic()
            if wanted <= set(got) and time.monotonic() - quiet_since > 2:
                break
            time.sleep(0.25)
    finally:
        for run in runs:
            run.stop()
        remote.stop()
        _release_root(root)
    received = remote.collector.snapshot()
    n_files = _write(out_dir, runs, received, log)
    elapsed = time.monotonic() - started
    last: dict[str, float] = {}
    for (mta, _), msgs in _bounces(received).items():
        last[mta] = max([last.get(mta, 0.0), *(m.at - started for m in msgs)])
    summary = [f"bounce-lab: {n_files} bounce files from {len(runs)} MTAs in {elapsed:.1f} s",
               "last bounce after: " + ", ".join(f"{m} {t:.1f} s" for m, t in sorted(last.items())),
               *log]
    (out_dir / "lab-report.txt").write_text("\n".join(summary) + "\n")
    print("\n".join(summary))
    if keep:
        print(f"bounce-lab: work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _write(out_dir: Path, runs: list[MtaRun], received: list[Received], log: list[str]) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.eml"):
        old.unlink()
    labels: dict[str, list[dict[str, object]]] = {}
    bounces = _bounces(received)
    n = 0
    for run in runs:
        for s in _applicable(run.name):
            msgs = bounces.get((run.name, s.name), [])
            want = sc.expected(s, run.name)
            if not msgs:
                log.append(f"{run.name} {s.name}: MISSING no bounce came back")
                continue
            seen: set[str] = set()
            kept = []
            for m in msgs:
                order = [(r, lab) for r, lab in _order(m.data, want) if r not in seen]
                if not order:
                    log.append(f"{run.name} {s.name}: extra message naming no recipient "
                               f"(kept out): {_subject(m.data)}")
                    continue
                seen.update(r for r, _ in order)
                kept.append((m, order))
            for r in want:
                if r not in seen:
                    log.append(f"{run.name} {s.name}: MISSING recipient {r} in the bounce(s)")
            for i, (m, order) in enumerate(kept, 1):
                name = f"{run.name}-{s.name}" + (f"-{i}" if len(kept) > 1 else "")
                (out_dir / f"{name}.eml").write_bytes(m.data)
                labels[name] = [
                    {"index": k, "recipient": r, "status": lab.status,
                     "replycode": lab.replycode, "reason": lab.reason,
                     "hardbounce": lab.hard, "feedback_type": lab.feedback_type}
                    for k, (r, lab) in enumerate(order, 1)
                ]
                n += 1
    (out_dir / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n")
    return n


def _subject(data: bytes) -> str:
    m = re.search(rb"^Subject: *(.*)$", data, re.M | re.I)
    return m.group(1).decode("latin-1").strip() if m else "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dev.bouncelab", description=__doc__)
    p.add_argument("out_dir", type=Path)
    p.add_argument("--root", type=Path, required=True,
                   help="the MTAs' Debian packages extracted (scripts/bounce-lab.sh makes it)")
    p.add_argument("--mta", action="append", help="run only these MTAs (repeatable)")
    p.add_argument("--timeout", type=float, default=90,
                   help="seconds to wait for the bounces after the last submission")
    p.add_argument("--keep", action="store_true", help="keep the MTAs' work directory")
    args = p.parse_args(argv)
    if not os.environ.get(NS_MARK):
        os.environ[NS_MARK] = os.readlink("/proc/self/ns/mnt")
        argv_full = [sys.executable, "-m", "dev.bouncelab", *(argv or sys.argv[1:])]
        os.execvp("unshare", ["unshare", "-m", "--propagation", "private", *argv_full])
    mtas = args.mta or None
    return run_lab(args.out_dir.resolve(), args.root.resolve(), mtas, args.timeout, args.keep)
