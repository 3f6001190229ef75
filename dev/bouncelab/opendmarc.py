"""DMARC failure reports (RFC 6591 ARF, ``Feedback-Type: auth-failure``): OpenDMARC 1.4
(Debian's opendmarc from the extracted root) as a milter of a private Postfix.

The senders' domain publishes ``p=none; ruf=...; fo=1`` (the one TXT record the lab's resolver
knows, ``scenarios.TXT_RECORDS``) and its mail carries no DKIM signature and no SPF result
(the filter does not check SPF itself: libspf2 passes every loopback client), so every message
the filter sees fails DMARC; it is delivered, and OpenDMARC hands the failure report to its report
command, which submits it to the same Postfix for the ruf= address, routed to the lab's
collector. Only
the scenarios naming this instance (``Scenario.only``) are sent through it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dev.bouncelab.mta import MtaRun, free_port
from dev.bouncelab.postfix import Postfix


@dataclass
class PostfixDmarc(Postfix):
    milter_port: int = field(default_factory=free_port)
    _filter: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        libs = [self.root / "usr/lib/postfix", self.root / "usr/lib/x86_64-linux-gnu",
                self.root / "usr/lib"]
        return {**super().env(), "LD_LIBRARY_PATH": ":".join(str(p) for p in libs)}

    def start(self) -> None:
        w, r = self.work, self.root
        (w / "ignore-hosts").write_text("192.0.2.1\n")  # not 127.0.0.1, the default
        conf = w / "opendmarc.conf"
        conf.write_text(f"""\
AuthservID mx.postfix.lab.test
FailureReports true
FailureReportsOnNone true
FailureReportsSentBy dmarc-reports@mx.postfix.lab.test
IgnoreHosts {w / 'ignore-hosts'}
PidFile {w / 'opendmarc.pid'}
PublicSuffixList {r / 'usr/share/publicsuffix/public_suffix_list.dat'}
ReportCommand {self._report_command()}
Socket inet:{self.milter_port}@127.0.0.1
SPFSelfValidate false
Syslog false
""")
        out = (w / "opendmarc.out").open("ab")
        self._filter = subprocess.Popen(
            [str(r / "usr/sbin/opendmarc"), "-f", "-v", "-c", str(conf)],
            stdout=out, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True,
            cwd=w)
        out.close()
        self._wait_filter()
        self.notices = True  # the ruf= address is in the notice domain: to the collector
        self.extra += (f"smtpd_milters = inet:127.0.0.1:{self.milter_port}\n"
                       "milter_default_action = accept\n")
        super().start()

    def _report_command(self) -> Path:
        """sendmail -t's part: the report on stdin, submitted by SMTP to this Postfix for the
        addresses in its To: (Postfix's own sendmail(1) would need a setgid postdrop)."""
        path = self.work / "send-report"
        path.write_text(f"""#!{sys.executable}
import email, email.utils, smtplib, sys
data = sys.stdin.buffer.read()
to = [a for _, a in email.utils.getaddresses(email.message_from_bytes(data).get_all("To", []))]
with smtplib.SMTP("127.0.0.1", {self.submit_port}, timeout=20) as smtp:
    smtp.sendmail("dmarc-reports@mx.postfix.lab.test", to, data)
""")
        path.chmod(0o755)
        return path

    def _wait_filter(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._filter is not None and self._filter.poll() is not None:
                raise RuntimeError(f"opendmarc exited: {self.log_tail()}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.milter_port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"opendmarc is not listening: {self.log_tail()}")

    def stop(self) -> None:
        milter, self._filter = self._filter, None
        if milter is not None:
            MtaRun(name="opendmarc", root=self.root, work=self.work, remote_port=0,
                   dns_host="", proc=milter).stop()
        super().stop()

    def log_tail(self) -> str:
        p: Path = self.work / "opendmarc.out"
        own = p.read_text(errors="replace")[-1500:] if p.exists() else ""
        return own + super().log_tail()
