"""OpenSMTPD 6.8 (Debian's binaries from an extracted root), run privately: `smtpd -d -f conf`.

OpenSMTPD's paths are compiled in (spool /var/spool/smtpd, control socket /var/run/smtpd.sock,
helpers /usr/libexec/opensmtpd): the lab's private mount namespace puts private directories
there (`lab._private_mounts`), so nothing of the system's is used or changed.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from dev.bouncelab import scenarios as sc
from dev.bouncelab.mta import MtaRun, fresh_dir, pipe_fail_command

SPOOL = Path("/var/spool/smtpd")


class OpenSmtpd(MtaRun):
    _stop_kick: threading.Event | None = None

    def start(self) -> None:
        w = self.work
        fresh_dir(w)
        if SPOOL.exists():
            subprocess.run(["rm", "-rf", str(SPOOL)], check=True)
        SPOOL.mkdir(mode=0o711)
        pipe = sc.local_part(sc.BY_NAME["local-pipefail"])
        aliases = w / "aliases"
        aliases.write_text(f"{pipe}: |{pipe_fail_command(w)}\n")
        name = "mx.opensmtpd.lab.test"
        lines = [
            "queue ttl 3s",
            "bounce warn-interval 1h",
            "smtp max-message-size 1M",
            f"table aliases file:{aliases}",
            f"listen on 127.0.0.1 port {self.submit_port} hostname {name}",
            'action "local" mda "/bin/cat" alias <aliases> user nobody',
            f'action "dns" relay helo {name}',
        ]
        matches = []
        for i, (domain, host) in enumerate(sc.routes().items()):
            scheme = "smtp+tls" if host in sc.tls_required_hosts() else "smtp"
            lines.append(
                f'action "r{i}" relay host {scheme}://{host}:{self.remote_port} helo {name}')
            matches.append(f'match from any for domain "{domain}" action "r{i}"')
        matches.append(f'match from any for domain "{sc.LOCAL_DOMAIN}" action "local"')
        matches.append('match from any for any action "dns"')
        conf = w / "smtpd.conf"
        conf.write_text("\n".join(lines + matches) + "\n")
        conf.chmod(0o644)
        self.spawn([str(self.root / "usr/sbin/smtpd"), "-d", "-f", str(conf)], w / "smtpd.out")
        self.wait_listening()

    def log_tail(self) -> str:
        p = self.work / "smtpd.out"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""
