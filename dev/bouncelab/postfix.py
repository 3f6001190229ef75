"""Postfix 3.7 (Debian's binaries from an extracted root), run privately: `master -d` with its
own config directory, queue and data directory, listening on 127.0.0.1 only."""

from __future__ import annotations

from dataclasses import dataclass

from dev.bouncelab import pigeonhole
from dev.bouncelab import scenarios as sc
from dev.bouncelab.mta import QUOTA_BYTES, MtaRun, chown, fresh_dir, full_mailbox, pipe_fail_command

QUEUE_DIRS = {  # postfix-files: name -> mode (owner postfix; maildrop/public group postdrop)
    "active": 0o700, "bounce": 0o700, "corrupt": 0o700, "defer": 0o700, "deferred": 0o700,
    "flush": 0o700, "hold": 0o700, "incoming": 0o700, "private": 0o700, "saved": 0o700,
    "trace": 0o700, "maildrop": 0o730, "public": 0o710, "pid": 0o755,
}

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@dataclass
class Postfix(MtaRun):
    """``return_command``: deliver the mail for the senders' domain (the bounces) with this
    command, run as ``return_user`` by Postfix's pipe(8), instead of to the lab's collector.
    ``notices``: the postmaster's copies of the bounces (notify_classes = bounce, sent to
    ``sc.NOTICE_RECIPIENT``) reach the collector, and the bounces to the senders are discarded."""

    return_command: list[str] | None = None
    return_user: str = "nobody"
    notices: bool = False

    def env(self) -> dict[str, str]:
        return {**super().env(), "LD_LIBRARY_PATH": str(self.root / "usr/lib/postfix")}

    def start(self) -> None:
        r, w = self.root, self.work
        etc = fresh_dir(w / "etc")
        queue = fresh_dir(w / "queue")
        data = fresh_dir(w / "data", 0o700)
        mail = fresh_dir(w / "mail", 0o1777)
        chown(data, "postfix")
        for name, mode in QUEUE_DIRS.items():
            d = queue / name
            d.mkdir()
            d.chmod(mode)
            chown(d, "postfix", "postdrop" if name in ("maildrop", "public") else "postfix")
        full_mailbox(mail / "quota.mbox")
        routes = {d: f"smtp:[{h}]:{self.remote_port}" for d, h in sc.routes().items()}
        master_cf = MASTER_CF.format(port=self.submit_port)
        if self.notices:
            routes[sc.RETURN_DOMAIN] = "discard:"
            routes[sc.NOTICE_DOMAIN] = f"smtp:[{sc.COLLECTOR_HOST}]:{self.remote_port}"
        if self.return_command is not None:
            routes[sc.RETURN_DOMAIN] = "returns:"
            master_cf += (f"returns unix - n n - - pipe\n  flags=Rq user={self.return_user} "
                          f"argv={' '.join(self.return_command)}\n")
        transport = "".join(f"{domain} {route}\n" for domain, route in routes.items())
        (etc / "tls_policy").write_text("".join(
            f"[{host}]:{self.remote_port} encrypt\n" for host in sc.tls_required_hosts()))
        (etc / "transport").write_text(transport)
        pipe = sc.local_part(sc.BY_NAME["local-pipefail"])
        quota = sc.local_part(sc.BY_NAME["local-quota"])
        vacation = sc.local_part(sc.BY_NAME["local-vacation"])
        lda = pigeonhole.command(w, r, self.remote_port, "mx.postfix.lab.test")
        (etc / "aliases").write_text(
            f'{pipe} "|{pipe_fail_command(w)}"\n'
            f"{quota} {mail / 'quota.mbox'}\n"
            f'{vacation} "|{lda}"\n'
            "postmaster root\n"
        )
        (etc / "dynamicmaps.cf").write_text(
            (r / "usr/share/postfix/dynamicmaps.cf").read_text()
        )
        (etc / "postfix-files").write_text((r / "etc/postfix/postfix-files").read_text())
        (etc / "master.cf").write_text(master_cf)
        lib = r / "usr/lib/postfix"
        (etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
daemon_directory = {r / 'usr/lib/postfix/sbin'}
command_directory = {r / 'usr/sbin'}
shlib_directory = {lib}
meta_directory = {etc}
mail_owner = postfix
setgid_group = postdrop
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH={lib}
maillog_file = /dev/stdout
myhostname = mx.postfix.lab.test
mydomain = lab.test
myorigin = $myhostname
mydestination = {sc.LOCAL_DOMAIN}, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
local_recipient_maps =
alias_maps = texthash:{etc / 'aliases'}
alias_database =
transport_maps = texthash:{etc / 'transport'}
default_privs = nobody
biff = no
smtputf8_enable = no
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
smtp_connect_timeout = 3s
smtp_helo_timeout = 4s
smtp_tls_security_level = may
smtp_tls_policy_maps = texthash:{etc / 'tls_policy'}
smtp_tls_CApath = /etc/ssl/certs
message_size_limit = {QUOTA_BYTES}
mailbox_size_limit = {QUOTA_BYTES}
notify_classes = {'bounce' if self.notices else ''}
returns_destination_recipient_limit = 1
""")
        extra = self.extra
        if self.notices:
            extra += f"bounce_notice_recipient = {sc.NOTICE_RECIPIENT}\n"
        if extra:
            with (etc / "main.cf").open("a") as f:
                f.write(extra)
        if not self.dns_host:
            # Outside the lab's namespace (no private resolver): never ask DNS.
            with (etc / "main.cf").open("a") as f:
                f.write("smtp_dns_support_level = disabled\nsmtpd_peername_lookup = no\n")
        self.spawn([str(r / "usr/lib/postfix/sbin/master"), "-d", "-c", str(etc)],
                   w / "master.out")
        self.wait_listening()

    def log_tail(self) -> str:
        p = self.work / "maillog"
        out = self.work / "master.out"
        text = (out.read_text(errors="replace") if out.exists() else "") + (
            p.read_text(errors="replace") if p.exists() else "")
        return text[-3000:]
