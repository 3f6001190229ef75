"""What every benchmark's ``--smoke`` run shares (not a benchmark itself).

``--smoke`` runs a benchmark's tiniest case, start to end, so that a change elsewhere in the
repository that breaks the script shows up in CI (tests/integration/test_benchmarks_run.py)
instead of on the day someone needs the figures. Its figures mean nothing.

- ``arm_deadline``: the whole smoke run is bounded. When the deadline passes, SIGALRM raises
  KeyboardInterrupt, so the script unwinds through the same ``finally`` blocks that Ctrl-C and
  SIGTERM use and stops whatever it started.
- ``--servers FILE``: the benchmarks that start their own Kafka and Dovecot can be handed
  running ones instead (the test's shared servers: starting a broker costs more than the
  smoke run itself). FILE is the JSON ``write_servers`` makes; the servers are left running.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dev.stack import DovecotServer, KafkaNode

SMOKE_DEADLINE_S = 60
SMOKE_HELP = (
    f"the tiniest case, bounded by {SMOKE_DEADLINE_S} s: proves the script runs to its end "
    "(CI does it); its figures mean nothing"
)
SERVERS_HELP = (
    "use the running Kafka/Dovecot described in this JSON (benchmarks/_smoke.py) instead of "
    "starting them; they are left running"
)


def arm_deadline(seconds: int = SMOKE_DEADLINE_S) -> None:
    """Interrupt this process (as Ctrl-C would) if it is still running after ``seconds``."""

    def _expired(_sig: int, _frame: object) -> None:
        print(f"--smoke: not done after {seconds} s, interrupting", file=sys.stderr, flush=True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, _expired)
    signal.alarm(seconds)


def write_servers(path: Path, kafka: KafkaNode | None, dovecot: DovecotServer | None) -> None:
    """Describe running servers in ``path`` for a benchmark's ``--servers``."""
    spec: dict[str, Any] = {}
    if kafka is not None:
        spec["kafka"] = {
            "workdir": str(kafka.workdir),
            "port": kafka.port,
            "controller_port": kafka.controller_port,
        }
    if dovecot is not None:
        spec["dovecot"] = {
            "workdir": str(dovecot.workdir),
            "port": dovecot.port,
            "host": dovecot.host,
            # Every user it has: adding users rewrites its whole passwd file.
            "users": dict(dovecot.users),
        }
    path.write_text(json.dumps(spec))


def read_servers(path: Path) -> tuple[KafkaNode | None, DovecotServer | None]:
    """The servers ``write_servers`` described. Not owned: never stop them."""
    # Imported here: the detection-only scripts run without the repo root on sys.path.
    from dev.stack import DovecotServer, KafkaNode  # noqa: PLC0415

    spec = json.loads(path.read_text())
    kafka = dovecot = None
    if "kafka" in spec:
        k = spec["kafka"]
        kafka = KafkaNode(Path(k["workdir"]), k["port"], k["controller_port"])
    if "dovecot" in spec:
        d = spec["dovecot"]
        dovecot = DovecotServer(Path(d["workdir"]), d["port"], d["users"], host=d["host"])
    return kafka, dovecot


def dovecot_with_users(
    given: DovecotServer | None, workdir: Path, users: dict[str, str]
) -> DovecotServer:
    """``given`` with ``users`` added, or a Dovecot of our own for them (the caller stops it)."""
    from dev.stack import start_dovecot  # noqa: PLC0415 (as in read_servers)

    if given is None:
        return start_dovecot(workdir, users)
    given.add_users(users)
    return given
