"""Haraka 3.3 (npm package ``Haraka``, Node.js), run privately in the foreground: its outbound
delivery (outbound/hmail.js) relays the lab's messages and writes the bounces.

Optional: its npm package (≈ 50 MB with its dependencies; Node.js >= 20) is not installed by
the lab by default; ``scripts/bounce-lab.sh --install-haraka`` puts it in the cache, next to the
extracted Debian packages (``HARAKA_DIR`` under the cache's ``lab`` directory). Without it the
lab runs without this instance and says so in its report.

A plugin of the lab's (``lab_routes``) marks the lab's client as a relay client
(``connection.relaying``: Haraka then delivers through its outbound queue) and answers
Haraka's ``get_mx`` hook with the lab's routes (each routed domain's loopback address and the
remote side's port); any other domain goes to Haraka's own DNS lookup, which the lab's
resolver answers. Temporary failures are retried once after a second
(``temp_fail_intervals=5s``), then returned ("Too many failures (...)").
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from dev.bouncelab import scenarios as sc
from dev.bouncelab.mta import MtaRun, fresh_dir

HARAKA_DIR = "haraka"  # under the lab cache: node_modules/Haraka
HOSTNAME = "mx.haraka.lab.test"

_PLUGIN = """\
'use strict'
// The bounce lab's routes: the lab's client relays, the lab's domains go to loopback servers.
const routes = require('./lab_routes.json')

exports.hook_connect_init = function (next, connection) {
    connection.relaying = true
    next()
}

exports.hook_get_mx = function (next, hmail, domain) {
    const host = routes.hosts[domain.toLowerCase()]
    if (!host) return next()
    next(OK, { exchange: host, port: routes.port, priority: 0 })
}
"""


def installed(lab_cache: Path) -> bool:
    """Whether Haraka's npm package is in the lab's cache (``lab_cache``: the cache's lab
    directory, the parent of the extracted Debian packages)."""
    return (lab_cache / HARAKA_DIR / "node_modules/Haraka/bin/haraka").is_file()


class Haraka(MtaRun):
    def start(self) -> None:
        if self.lab_cache is None or not installed(self.lab_cache):
            raise RuntimeError("Haraka is not installed (scripts/bounce-lab.sh --install-haraka)")
        w = fresh_dir(self.work)
        home = self.lab_cache / HARAKA_DIR
        node = shutil.which("node") or "node"
        haraka = home / "node_modules/Haraka/bin/haraka"
        inst = w / "haraka"
        made = subprocess.run([node, str(haraka), "-i", str(inst)], capture_output=True,
                              text=True, check=False, env=self._node_env(home))
        if made.returncode != 0:
            raise RuntimeError(f"haraka -i failed: {made.stdout}{made.stderr}")
        config = inst / "config"
        # Haraka's own default bounce templates (its package's config directory, where a
        # global install's config loader finds them; this flat npm install's loader does not).
        for template in (home / "node_modules/Haraka/config").glob("outbound.bounce_message*"):
            shutil.copy(template, config / template.name)
        (config / "me").write_text(HOSTNAME + "\n")
        (config / "smtp.ini").write_text(
            f"[main]\nlisten=127.0.0.1:{self.submit_port}\nnodes=\ndaemonize=false\n")
        (config / "log.ini").write_text("[main]\nlevel=info\ntimestamps=true\n")
        (config / "plugins").write_text("lab_routes\n")
        tls_hosts = ",".join(sc.tls_required_hosts())
        (config / "outbound.ini").write_text(
            "[main]\ntemp_fail_intervals=5s\nconnect_timeout=2\nreceived_header=Haraka outbound\n"
            "inet_prefer=v4\n")
        (config / "tls.ini").write_text(f"[outbound]\nforce_tls_hosts={tls_hosts}\n")
        (config / "host_list").write_text("")
        plugins = inst / "plugins"
        plugins.mkdir(exist_ok=True)
        (plugins / "lab_routes.js").write_text(_PLUGIN)
        (plugins / "lab_routes.json").write_text(json.dumps(
            {"hosts": sc.routes(), "port": self.remote_port}))
        out = (w / "haraka.out").open("ab")
        self.proc = subprocess.Popen([node, str(haraka), "-c", str(inst)], stdout=out,
                                     stderr=subprocess.STDOUT, env=self._node_env(home),
                                     start_new_session=True, cwd=inst)
        out.close()
        self.wait_listening(30)

    def _node_env(self, home: Path) -> dict[str, str]:
        return {**self.env(), "NODE_PATH": str(home / "node_modules"), "HOME": str(self.work)}

    def log_tail(self) -> str:
        p = self.work / "haraka.out"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""
