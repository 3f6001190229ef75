"""The bounce lab: real MTAs, run privately on loopback, produce labelled bounces.

`python -m dev.bouncelab OUT_DIR` (entry point: scripts/bounce-lab.sh) starts a scripted remote
SMTP side (aiosmtpd) and a local DNS responder, runs each MTA from its Debian package extracted
into a private root, sends one message per scenario through it, collects the bounces it writes
back and saves them as OUT_DIR/<mta>-<scenario>[-n].eml with OUT_DIR/labels.json.

The scenarios and their labels are ONE table: `dev.bouncelab.scenarios.SCENARIOS`.

Optional instances (`lab.OPTIONAL`) run only when their software is installed (Haraka, an npm
package: `scripts/bounce-lab.sh --install-haraka`); a full run without them says so in its
report. `python -m dev.bouncelab.score OUT_DIR --sisimai` scores Sisimai 4.25 (Debian's
libsisimai-perl) on the same output, for comparison.
"""
