"""chasquid 1.11 (Debian's Go binary from the extracted root), run privately in the foreground
with its own configuration directory, queue and TLS certificate.

chasquid has no routing table: it looks up the MX of the recipient's domain and, where there is
none (the lab's resolver says NXDOMAIN), connects to the domain's own address, on the port of
``-testing__outgoing_smtp_port`` (chasquid's own flag for its tests). It runs in a mount
namespace of its own whose /etc/hosts gives the lab's routed domains their loopback addresses
(Go's resolver reads /etc/hosts), so nothing but chasquid sees those names.

It relays only for authenticated clients, and authenticates only over TLS: the lab submits with
STARTTLS (a certificate made here with trustme) and AUTH PLAIN as a user of its local domain.
Its queue retries a temporary failure for 20 hours (``giveUpAfter``, compiled in), the first
retry a minute after the first attempt. Once every queued recipient has had its first attempt
(its queue file records the error), the lab stops chasquid, moves the items' creation time
back two days in their queue files (protobuf text, ``created_at_ts``) and starts it again: it
loads its queue, finds those items past their lifetime, and returns them ("failed repeatedly
and timed out, last error: ..."), as it would after 20 hours of failed retries.
"""

from __future__ import annotations

import re
import shlex
import smtplib
import ssl
import subprocess
import time
from pathlib import Path

import trustme

from dev.bouncelab import scenarios as sc
from dev.bouncelab.mta import MtaRun, free_port, fresh_dir, pipe_fail_command

HOSTNAME = "mx.chasquid.lab.test"
USER = "lab"
PASSWORD = "lab-password"
BACKDATE_SECONDS = 2 * 24 * 3600  # past chasquid's giveUpAfter (20 h)
_CREATED = re.compile(r"(created_at_ts: \{\s*seconds: )(\d+)")


class Chasquid(MtaRun):
    @property
    def binary(self) -> Path:
        return self.root / "usr/bin/chasquid"

    def start(self) -> None:
        w = self.work
        etc = fresh_dir(w / "etc")
        data = fresh_dir(w / "data", 0o700)
        certs = fresh_dir(etc / "certs" / HOSTNAME, 0o700)
        leaf = trustme.CA().issue_cert(HOSTNAME)  # the lab's client does not verify it
        leaf.private_key_pem.write_to_path(str(certs / "privkey.pem"))
        (certs / "fullchain.pem").write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
        local = fresh_dir(etc / "domains" / sc.LOCAL_DOMAIN)
        pipe = sc.local_part(sc.BY_NAME["local-pipefail"])
        (local / "aliases").write_text(f"{pipe}: | {pipe_fail_command(w)}\n")
        made = subprocess.run(
            [str(self.root / "usr/bin/chasquid-util"), f"--configdir={etc}", "user-add",
             f"{USER}@{sc.LOCAL_DOMAIN}", f"--password={PASSWORD}"],
            capture_output=True, text=True, check=False)
        if made.returncode != 0:
            raise RuntimeError(f"chasquid-util user-add failed: {made.stdout}{made.stderr}")
        (etc / "chasquid.conf").write_text(
            f'hostname: "{HOSTNAME}"\n'
            f'smtp_address: "127.0.0.1:{free_port()}"\n'
            f'submission_address: "127.0.0.1:{self.submit_port}"\n'
            f'submission_over_tls_address: "127.0.0.1:{free_port()}"\n'
            'monitoring_address: ""\n'
            'mail_delivery_agent_bin: "/bin/cat"\n'
            f'data_dir: "{data}"\n'
            f'mail_log_path: "{w / "mail.log"}"\n')
        hosts = w / "hosts"
        hosts.write_text(Path("/etc/hosts").read_text() + "".join(
            f"{host} {domain}\n" for domain, host in sc.routes().items()))
        hosts.chmod(0o644)
        self._run()

    def _run(self) -> None:
        w = self.work
        argv = [str(self.binary), f"-config_dir={w / 'etc'}", "-alsologtostderr", "-v=1",
                f"-testing__outgoing_smtp_port={self.remote_port}"]
        script = (f"mount --bind {shlex.quote(str(w / 'hosts'))} /etc/hosts && "
                  f"exec {shlex.join(argv)}")
        self.spawn(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script],
                   w / "chasquid.out")
        self.wait_listening()

    def after_submit(self) -> None:
        """Once every queued recipient has failed once: chasquid restarted with its queue's
        items two days old, so it gives them up at once."""
        queue = self.work / "data" / "queue"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            items = [p.read_text() for p in queue.glob("m:*")]
            # A recipient delivered says "status: SENT"; one failed has its last error.
            if all(t.count("rcpt: {") == t.count("last_failure_message:") + t.count("SENT")
                   for t in items):
                break
            time.sleep(0.25)
        self.stop()
        for path in queue.glob("m:*"):
            path.write_text(backdated(path.read_text(), BACKDATE_SECONDS))
        self._run()

    def submit(self, sender: str, rcpts: list[str], data: bytes, options: list[str]) -> None:
        """SMTP to the submission port with STARTTLS and AUTH (chasquid relays for its own
        authenticated users only); chasquid offers no DSN extension, so no RCPT parameter."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", self.submit_port, local_hostname="client.lab.test",
                          timeout=20) as smtp:
            smtp.starttls(context=context)
            smtp.login(f"{USER}@{sc.LOCAL_DOMAIN}", PASSWORD)
            refused = smtp.sendmail(sender, rcpts, data)
        if refused:
            raise RuntimeError(f"refused at submission: {refused}")

    def log_tail(self) -> str:
        p = self.work / "chasquid.out"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""


def backdated(item: str, seconds: int) -> str:
    """A chasquid queue file (protobuf text) whose item was created ``seconds`` earlier."""
    return _CREATED.sub(lambda m: f"{m.group(1)}{int(m.group(2)) - seconds}", item)
