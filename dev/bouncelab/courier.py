"""Courier 1.0 (Debian's courier-mta from an extracted root), run privately: the scheduler
`courierd` and the SMTP listener `couriertcpd ... courieresmtpd`, both in the foreground, with
their own configuration and queue.

Courier's paths are compiled in (configuration /etc/courier, queue /var/lib/courier, programs
/usr/lib/courier, sockets /run/courier): in the lab's private mount namespace private
directories are bind-mounted there (scripts/bounce-lab.sh makes the empty mount points), so
nothing of the system's is used or changed. queuetime of a few seconds turns temporary failures
into bounces.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from dev.bouncelab import scenarios as sc
from dev.bouncelab.mta import MtaRun, bind_mount, chown, fresh_dir, pipe_fail_command

ETC = Path("/etc/courier")
VAR = Path("/var/lib/courier")
LIBEXEC = Path("/usr/lib/courier")
RUN = Path("/run/courier")
HOSTNAME = "mx.courier.lab.test"
QUEUE_DIRS = {"msgs": 0o750, "msgq": 0o750, "tmp": 0o770, "track": 0o750,
              "filters": 0o750, "allfilters": 0o750}


class Courier(MtaRun):
    _smtpd: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        r = self.root
        libs = [r / "usr/lib", r / "usr/lib/x86_64-linux-gnu", r / "lib/x86_64-linux-gnu",
                r / "usr/lib/courier-authlib"]
        return {**super().env(), "LD_LIBRARY_PATH": ":".join(str(p) for p in libs)}

    def start(self) -> None:
        w, r = self.work, self.root
        etc = fresh_dir(w / "etc")
        var = fresh_dir(w / "var", 0o750)
        chown(var, "courier")
        for name, mode in QUEUE_DIRS.items():
            d = var / name
            d.mkdir()
            d.chmod(mode)
            chown(d, "courier")
        for src in (r / "etc/courier").iterdir():
            dst = etc / src.name
            if src.is_dir():
                shutil.copytree(src, dst)
            else:
                shutil.copy(src, dst)
        RUN.mkdir(mode=0o775, exist_ok=True)
        chown(RUN, "root", "courier")
        bind_mount(etc, ETC)
        bind_mount(var, VAR)
        bind_mount(r / "usr/lib/courier", LIBEXEC)
        self._library_cache()
        self._configure(etc)
        env = self.env()
        # courierctl.start: a clean environment, the courierd file sourced, from /usr.
        self.spawn(["/usr/bin/env", "-i", "/bin/sh", "-c",
                    f"set -a; . {ETC / 'courierd'}; exec {LIBEXEC / 'courier/courierd'}"],
                   w / "courierd.out", cwd=Path("/usr"))
        smtpd_env = {
            **env,
            "BOFHCHECKDNS": "0",  # the lab's senders' domain has no DNS entry
            "BOFHNOEXPN": "1", "BOFHNOVRFY": "1", "TARPIT": "0",
            "NOADDMSGID": "1", "NOADDDATE": "1",
            "RELAYCLIENT": "",  # the lab's client may relay (smtpaccess: allow,RELAYCLIENT)
            "TCPREMOTEIP": "127.0.0.1",
            "ESMTP_LOG_DIALOG": "0", "AUTH_REQUIRED": "0", "ESMTPAUTH": "",
            "MAILUSER": "courier", "MAILGROUP": "courier",
        }
        out = (w / "esmtpd.out").open("ab")
        self._smtpd = subprocess.Popen(
            [str(r / "usr/sbin/couriertcpd"), "-address=127.0.0.1", "-noidentlookup",
             "-nodnslookup", "-user=courier", "-group=courier", "-maxprocs=40",
             "-maxperip=40", "-maxperc=40", str(self.submit_port),
             str(LIBEXEC / "courier/modules/esmtp/courieresmtpd")],
            stdout=out, stderr=subprocess.STDOUT, env=smtpd_env, start_new_session=True,
            cwd="/usr")
        out.close()
        self.wait_listening()

    def _library_cache(self) -> None:
        """The extracted libraries in the dynamic loader's cache, in this namespace: some of
        Courier's programs start others (submit) with an environment of their own, without
        LD_LIBRARY_PATH."""
        conf = self.work / "ld.so.conf"
        conf.write_text("include /etc/ld.so.conf.d/*.conf\n"
                        + "".join(f"{d}\n" for d in self.env()["LD_LIBRARY_PATH"].split(":")))
        cache = self.work / "ld.so.cache"
        subprocess.run(["ldconfig", "-X", "-C", str(cache), "-f", str(conf)], check=True,
                       capture_output=True)
        bind_mount(cache, Path("/etc/ld.so.cache"))

    def _configure(self, etc: Path) -> None:
        (etc / "me").write_text(f"{HOSTNAME}\n")
        (etc / "defaultdomain").write_text("lab.test\n")
        # lab.test too: makealiases points a program alias at an address there.
        (etc / "locals").write_text(f"{sc.LOCAL_DOMAIN}\nlab.test\nlocalhost\n")
        (etc / "esmtproutes").write_text("".join(
            f"{domain}: [{host}],{self.remote_port}\n" for domain, host in sc.routes().items()))
        # Temporary failures are retried for a few seconds, then returned.
        for name, value in (("queuetime", "3s"), ("retryalpha", "1s"), ("retrybeta", "2"),
                            ("retrygamma", "1s"), ("retrymaxdelta", "1"), ("warntime", "1d"),
                            ("sizelimit", "1000000"), ("esmtptimeoutconnect", "3"),
                            ("esmtptimeouthelo", "4")):
            (etc / name).write_text(value + "\n")
        courierd = (etc / "courierd").read_text()
        courierd += (
            "\n# bounce lab\n"
            f"LD_LIBRARY_PATH={self.env()['LD_LIBRARY_PATH']}\n"
            "ESMTP_BLOCKBACKSCATTER=\n"  # bounces of mail received by SMTP go out by SMTP
            f"COURIERTLS={self.root / 'usr/bin/couriertls'}\n"
        )
        (etc / "courierd").write_text(courierd)
        pipe = sc.local_part(sc.BY_NAME["local-pipefail"])
        (etc / "aliases/system").write_text(
            f"{pipe}: | {pipe_fail_command(self.work)}\npostmaster: root\n")
        made = subprocess.run([str(LIBEXEC / "makealiases")], env=self.env(),
                              capture_output=True, text=True, check=False, cwd="/usr")
        if made.returncode != 0:
            raise RuntimeError(f"makealiases failed: {made.stdout}{made.stderr}")

    def stop(self) -> None:
        smtpd, self._smtpd = self._smtpd, None
        if smtpd is not None:
            stopper = MtaRun(name="courier-esmtpd", root=self.root, work=self.work,
                             remote_port=0, dns_host="", proc=smtpd)
            stopper.stop()
        super().stop()

    def log_tail(self) -> str:
        parts = []
        for name in ("courierd.out", "esmtpd.out"):
            p = self.work / name
            if p.exists():
                parts.append(p.read_text(errors="replace")[-1500:])
        return "\n".join(parts)
