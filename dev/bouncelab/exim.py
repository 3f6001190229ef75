"""Exim 4.96 (Debian's exim4-daemon-light from an extracted root), run privately: `exim4 -C conf
-bdf -q1s` with its own spool and logs, listening on 127.0.0.1 only. Retry rules give up after
3 seconds, so temporary failures become bounces ("retry timeout exceeded") within the lab."""

from __future__ import annotations

from pathlib import Path

from dev.bouncelab import scenarios as sc
from dev.bouncelab.mta import QUOTA_BYTES, MtaRun, chown, fresh_dir, full_mailbox, pipe_fail_command


class Exim(MtaRun):
    def env(self) -> dict[str, str]:
        return {**super().env(), "LD_LIBRARY_PATH": str(self.root / "usr/lib/x86_64-linux-gnu")}

    @property
    def binary(self) -> Path:
        return self.root / "usr/sbin/exim4"

    def start(self) -> None:
        w = self.work
        spool = fresh_dir(w / "spool", 0o750)
        logs = fresh_dir(w / "log", 0o750)
        mail = fresh_dir(w / "mail", 0o1777)
        # Exim re-executes itself after dropping to exim_user, and a -C config keeps root only
        # for a root caller (TRUSTED_CONFIG_LIST is /etc/exim4/trusted_configs, not ours): so
        # the private instance runs as root, without the setuid bit (which would make the loader
        # ignore LD_LIBRARY_PATH). Local deliveries still run as nobody.
        self.binary.chmod(0o755)
        full_mailbox(mail / "quota.mbox")
        chown(mail / "quota.mbox", "nobody", "nogroup")
        pipe = sc.local_part(sc.BY_NAME["local-pipefail"])
        quota = sc.local_part(sc.BY_NAME["local-quota"])
        (w / "aliases").write_text(
            f'{pipe}: "|{pipe_fail_command(w)}"\n'
            f"{quota}: {mail / 'quota.mbox'}\n"
        )
        route_list = " ; ".join(f"{d} {h}" for d, h in sc.routes().items())
        conf = w / "exim.conf"
        conf.write_text(f"""\
primary_hostname = mx.exim.lab.test
qualify_domain = lab.test
exim_path = {self.binary}
spool_directory = {spool}
log_file_path = {logs}/%slog
pid_file_path = {w}/exim.pid
exim_user = root
exim_group = root
trusted_users = root
never_users =
keep_environment = LD_LIBRARY_PATH
daemon_smtp_ports = {self.submit_port}
local_interfaces = 127.0.0.1
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
dsn_advertise_hosts = *
smtputf8_advertise_hosts =
acl_smtp_rcpt = acl_rcpt
domainlist local_domains = {sc.LOCAL_DOMAIN}
ignore_bounce_errors_after = 0s
timeout_frozen_after = 1m
delay_warning = 0s
queue_run_max = 8
remote_max_parallel = 8
message_size_limit = 1M
{self.extra}
begin acl
acl_rcpt:
  accept

begin routers
lab_routes:
  driver = manualroute
  route_list = {route_list}
  transport = remote_smtp
  self = send

dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  self = send
  no_more

aliases:
  driver = redirect
  domains = +local_domains
  data = ${{lookup{{$local_part}}lsearch{{{w}/aliases}}}}
  file_transport = address_file
  pipe_transport = address_pipe
  user = nobody

begin transports
remote_smtp:
  driver = smtp
  user = nobody
  port = {self.remote_port}
  connect_timeout = 3s
  command_timeout = 4s
  hosts_require_tls = {" : ".join(sc.tls_required_hosts())}

address_pipe:
  driver = pipe
  return_fail_output

address_file:
  driver = appendfile
  quota = {QUOTA_BYTES}
  delivery_date_add
  envelope_to_add
  return_path_add

begin retry
# A full mailbox fails at once (a rule without times); everything else is given up after 3 s.
*  quota
*  *  F,3s,1s
""")
        self.spawn([str(self.binary), "-C", str(conf), "-bdf", "-q1s"], w / "exim.out")
        self.wait_listening()

    def log_tail(self) -> str:
        parts = []
        for p in (self.work / "exim.out", self.work / "log/mainlog", self.work / "log/paniclog"):
            if p.exists():
                parts.append(p.read_text(errors="replace")[-2000:])
        return "\n".join(parts)
