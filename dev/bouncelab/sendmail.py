"""Sendmail 8.17 (Debian's sendmail-bin from an extracted root), run privately: a sendmail.cf
built with m4 from sendmail-cf's macros, `sendmail -C cf -bD -q1s` with its own queue, listening
on 127.0.0.1 only. Timeout.queuereturn of 3 s turns temporary failures into bounces."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dev.bouncelab import scenarios as sc
from dev.bouncelab.mta import MtaRun, fresh_dir, pipe_fail_command

HOSTNAME = "mx.sendmail.lab.test"
# The lab's files live under /tmp (world-writable): let Sendmail read and run them there.
DONT_BLAME = ",".join((
    "GroupWritableDirPathSafe", "RunProgramInUnsafeDirPath", "IncludeFileInUnsafeDirPath",
    "FileDeliveryToSymlink", "MapInUnsafeDirPath", "WriteMapToHardLink",
))


class Sendmail(MtaRun):
    @property
    def binary(self) -> Path:
        return self.root / "usr/libexec/sendmail/sendmail"

    def start(self) -> None:
        w = self.work
        cfdir = self.root / "usr/share/sendmail/cf"
        queue = fresh_dir(w / "mqueue", 0o700)
        pipe = sc.local_part(sc.BY_NAME["local-pipefail"])
        (w / "aliases").write_text(f'{pipe}: "|{pipe_fail_command(w)}"\n'
                                   f"postmaster: {w / 'postmaster.mbox'}\n"
                                   f"root: {w / 'postmaster.mbox'}\n")
        (w / "mailertable").write_text("".join(
            f"{domain} esmtp:[{host}]\n" for domain, host in sc.routes().items()))
        (w / "service.switch").write_text("hosts files dns\naliases files\n")
        (w / "helpfile").write_text("")
        mc = w / "sendmail.mc"
        mc.write_text(f"""\
divert(-1)
divert(0)dnl
include(`{cfdir}/m4/cf.m4')dnl
VERSIONID(`bounce lab')dnl
define(`LOCAL_MAILER_PATH', `/usr/libexec/sendmail/mail.local')dnl
OSTYPE(`bsd4.4')dnl
define(`confDOMAIN_NAME', `{HOSTNAME}')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`QUEUE_DIR', `{queue}')dnl
define(`ALIAS_FILE', `{w}/aliases')dnl
define(`confSERVICE_SWITCH_FILE', `{w}/service.switch')dnl
define(`HELP_FILE', `{w}/helpfile')dnl
define(`STATUS_FILE', `{w}/statistics')dnl
define(`confPID_FILE', `{w}/sendmail.pid')dnl
define(`confHOST_STATUS_DIRECTORY', `')dnl
define(`confTO_QUEUERETURN', `3s')dnl
define(`confTO_QUEUEWARN', `1h')dnl
define(`confTO_CONNECT', `3s')dnl
define(`confTO_ICONNECT', `3s')dnl
define(`confTO_INITIAL', `4s')dnl
define(`confTO_HELO', `4s')dnl
define(`confMIN_QUEUE_AGE', `0')dnl
define(`confDELIVERY_MODE', `background')dnl
define(`confDEF_USER_ID', `nobody:nogroup')dnl
define(`confLOG_LEVEL', `9')dnl
define(`confDONT_BLAME_SENDMAIL', `{DONT_BLAME}')dnl
define(`ESMTP_MAILER_ARGS', `TCP $h {self.remote_port}')dnl
define(`confPRIVACY_FLAGS', `goaway')dnl
{self.extra}DAEMON_OPTIONS(`Port={self.submit_port}, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(`mailertable', `text -v1 {w}/mailertable')dnl
FEATURE(`no_default_msa')dnl
LOCAL_DOMAIN(`{sc.LOCAL_DOMAIN}')dnl
FEATURE(`promiscuous_relay')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`accept_unqualified_senders')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
""")
        cf = w / "sendmail.cf"
        with cf.open("w") as out:
            # m4 warns on stderr that promiscuous_relay is an open relay: it listens on
            # 127.0.0.1 only, and the lab's client is the only one.
            subprocess.run(["m4", str(mc)], stdout=out, stderr=subprocess.DEVNULL,
                           check=True, cwd=cfdir / "m4")
        (w / "statistics").write_text("")
        # newaliases: the alias file as a Berkeley DB, which Sendmail's default alias map reads.
        made = subprocess.run([str(self.binary), "-C", str(cf), "-bi"], env=self.env(),
                              capture_output=True, text=True, cwd=w, check=False)
        if made.returncode != 0:
            raise RuntimeError(f"sendmail -bi failed: {made.stdout}{made.stderr}")
        self.spawn([str(self.binary), "-C", str(cf), "-bD", "-q1s", "-L", "sm-lab"],
                   w / "sendmail.out")
        self.wait_listening()

    def log_tail(self) -> str:
        p = self.work / "sendmail.out"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""
