"""The DragonFly Mail Agent 0.13 (Debian's dma from the extracted root): a sendmail(1)-style
MTA with no SMTP listener. Each message is handed to ``dma -D -f SENDER RCPT...`` on its
standard input (a process of its own per message); dma delivers through its smarthost, the
lab's main server, which passes its bounces (plain text, one per recipient, the original after
"Message headers follow.") to the collector.

Its configuration path is compiled in (/etc/dma/dma.conf): a private directory is bind-mounted
there in the lab's namespace (scripts/bounce-lab.sh makes the empty mount point). dma retries
temporary failures for days (compiled in), so the lab sends it none (``scenarios``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from dev.bouncelab import scenarios as sc
from dev.bouncelab.mta import MtaRun, bind_mount, chown, fresh_dir

ETC = Path("/etc/dma")
SPOOL = Path("/var/spool/dma")  # under the lab's private /var/spool
HOSTNAME = "mx.dma.lab.test"


class Dma(MtaRun):
    _deliveries: list[subprocess.Popen[bytes]]

    @property
    def binary(self) -> Path:
        return self.root / "usr/sbin/dma"

    def start(self) -> None:
        self._deliveries = []
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
        """``dma -D`` (in the foreground: it delivers, bounces and exits) for one message; the
        process is kept to be ended by ``stop`` if it still runs (it would retry for days)."""
        log = (self.work / "dma.out").open("ab")
        proc = subprocess.Popen([str(self.binary), "-D", "-f", sender, *rcpts],
                                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                env=self.env(), start_new_session=True, cwd=self.work)
        log.close()
        assert proc.stdin is not None
        proc.stdin.write(data)
        proc.stdin.close()
        self._deliveries.append(proc)

    def stop(self) -> None:
        deliveries, self._deliveries = self._deliveries, []
        for proc in deliveries:
            MtaRun(name="dma", root=self.root, work=self.work, remote_port=0, dns_host="",
                   proc=proc).stop()

    def log_tail(self) -> str:
        p = self.work / "dma.out"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""
