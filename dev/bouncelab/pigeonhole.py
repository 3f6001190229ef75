"""Auto-replies: Dovecot's LDA (the machine's dovecot-core) with the Pigeonhole Sieve plugin
(Debian's dovecot-sieve, extracted into the lab's root, never installed) delivers a local
recipient's mail and runs a Sieve ``vacation`` script, which sends the reply (RFC 5230,
``Auto-Submitted: auto-replied (vacation)``, null envelope sender) by SMTP to the lab's collector.

An MTA of the lab runs ``command()`` for the vacation scenario's local recipient (Postfix's
aliases); the LDA runs as the MTA's delivery user with a private configuration, mail directory
and Sieve script, and reaches nothing but 127.0.0.x.
"""

from __future__ import annotations

from pathlib import Path

from dev.bouncelab import scenarios as sc

LDA = Path("/usr/lib/dovecot/dovecot-lda")
SIEVE = """\
require ["vacation"];
vacation :days 1
  "I am away until Monday and read no mail until then.";
"""


def command(work: Path, root: Path, collector_port: int, hostname: str) -> str:
    """A shell command line that delivers stdin (envelope in $SENDER and $RECIPIENT, as
    Postfix's local(8) sets them) with the vacation script; its files go under ``work``."""
    home = work / "vacation"
    home.mkdir(mode=0o1777)
    home.chmod(0o1777)  # the MTA's delivery user (nobody) writes its mail and state here
    script = home / "vacation.sieve"
    script.write_text(SIEVE)
    script.chmod(0o644)
    libs = root / "usr/lib/dovecot"
    conf = home / "dovecot.conf"
    # import_environment: the LDA re-executes itself through doveconf with a clean
    # environment; the plugin's library is found through this one variable.
    conf.write_text(f"""\
protocols =
import_environment = TZ LD_LIBRARY_PATH={libs}
base_dir = {home}/run
state_dir = {home}/state
log_path = /dev/stderr
info_log_path = /dev/stderr
ssl = no
hostname = {hostname}
postmaster_address = postmaster@{sc.LOCAL_DOMAIN}
mail_location = maildir:{home}/%n
mail_plugin_dir = {root / 'usr/lib/dovecot/modules'}
submission_host = {sc.COLLECTOR_HOST}:{collector_port}
lda_mailbox_autocreate = yes
protocol lda {{
  mail_plugins = sieve
}}
plugin {{
  sieve = file:{home}/sieve;active={script}
  sieve_vacation_send_from_recipient = no
}}
""")
    conf.chmod(0o644)
    return (f"/usr/bin/env LD_LIBRARY_PATH={libs} HOME={home} USER=nobody "
            f"{LDA} -c {conf} -f $SENDER -a $RECIPIENT")
