"""The DragonFly Mail Agent 0.13 (Debian's dma from the extracted root): a sendmail(1)-style
MTA with no SMTP listener. Each message is handed to ``dma -f SENDER RCPT...`` on its standard
input; dma delivers in the background through its smarthost, the lab's main server (which
passes the bounces, plain text with the original's header only, to the collector).

Its configuration path is compiled in (/etc/dma/dma.conf): a private directory is bind-mounted
there in the lab's namespace (scripts/bounce-lab.sh makes the empty mount point). dma retries
temporary failures for days (compiled in), so the lab sends it none (``scenarios``).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from dev.bouncelab import scenarios as sc
from dev.bouncelab.mta import MtaRun, bind_mount, chown, fresh_dir

ETC = Path("/etc/dma")
SPOOL = Path("/var/spool/dma")  # under the lab's private /var/spool
HOSTNAME = "mx.dma.lab.test"


class Dma(MtaRun):
    @property
    def binary(self) -> Path:
        return self.root / "usr/sbin/dma"

    def start(self) -> None:
        w = self.work
        etc = fresh_dir(w / "etc")
        # dma 0.13 connects to PORT only through its smarthost (MX hosts get port 25): all
        # mail, bounces included, goes to the main server, which hands bounces to the collector.
        (etc / "dma.conf").write_text(
            f"SMARTHOST {sc.MAIN_HOST}\nPORT {self.remote_port}\nMAILNAME {HOSTNAME}\n"
            f"SPOOLDIR {SPOOL}\nALIASES {w / 'aliases'}\n")
        (w / "aliases").write_text("")
        chown(fresh_dir(SPOOL, 0o2775), "root", "mail")  # dma works as group mail
        bind_mount(etc, ETC)

    def submit(self, sender: str, rcpts: list[str], data: bytes, options: list[str]) -> None:
        done = subprocess.run([str(self.binary), "-f", sender, *rcpts], input=data,
                              env=self.env(), capture_output=True, timeout=20, check=False,
                              cwd=self.work)
        if done.returncode != 0:
            raise RuntimeError(f"dma exited {done.returncode}: {done.stderr[-500:]!r}")

    def stop(self) -> None:
        """dma's delivery processes run in the background: end those of this binary."""
        binary = str(self.binary)
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{pid}/exe") == binary:
                    os.kill(int(pid), signal.SIGTERM)
            except (OSError, ProcessLookupError):
                continue
