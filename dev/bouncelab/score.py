"""Score ``bounce-stream parse`` on a lab output directory against its labels.json.

Events are matched to labels by recipient (a label whose recipient has no event falls back to
the event at the same position), so every miss can be named: ``python -m dev.bouncelab.score
OUT_DIR`` prints the figures and one line per mismatch (MTA, scenario, field, expected, got).
``--sisimai`` scores Sisimai (Debian's libsisimai-perl, 4.25) on the same files instead, for
comparison.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Score:
    emails: int = 0
    detected: int = 0
    events: int = 0
    recipient_ok: int = 0
    reason_ok: int = 0
    status_ok: int = 0
    hard_ok: int = 0
    mismatches: list[str] = field(default_factory=list)

    def pct(self, n: int, of: int | None = None) -> float:
        d = self.events if of is None else of
        return 100.0 * n / d if d else 0.0

    @property
    def reason_pct(self) -> float:
        return self.pct(self.reason_ok)

    @property
    def status_pct(self) -> float:
        return self.pct(self.status_ok)

    @property
    def hard_pct(self) -> float:
        return self.pct(self.hard_ok)

    @property
    def recipient_pct(self) -> float:
        return self.pct(self.recipient_ok)

    @property
    def detected_pct(self) -> float:
        return self.pct(self.detected, self.emails)

    def summary(self) -> str:
        return (
            f"{self.emails} bounces, {self.events} labelled events: "
            f"detected {self.detected_pct:.1f} %, recipient {self.recipient_pct:.1f} %, "
            f"reason {self.reason_pct:.1f} %, status {self.status_pct:.1f} %, "
            f"hard {self.hard_pct:.1f} %"
        )


def parse(out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """``bounce-stream parse`` on every .eml of ``out_dir``: name -> events."""
    files = sorted(str(p) for p in out_dir.glob("*.eml"))
    if not files:
        return {}
    proc = subprocess.run(
        [sys.executable, "-m", "bounce_stream", "parse", *files],
        check=True, capture_output=True, text=True,
    )
    return _events(proc.stdout)


# Sisimai 4.25's verdicts in the shape of ``bounce-stream parse``'s output (hard: Sisimai's
# softbounce == 0, as its own hardbounce reading).
_SISIMAI = r"""
use strict; use warnings; use Sisimai; use JSON::PP;
my $json = JSON::PP->new->canonical;
for my $file (@ARGV) {
    my $found = Sisimai->make($file, "delivered" => 1, "vacation" => 1) || [];
    my @events = map { {
        recipient => $_->recipient->address, reason => $_->reason,
        status => $_->deliverystatus, detected_by => $_->smtpagent,
        hard_bounce => ($_->softbounce == 0 ? JSON::PP::true : JSON::PP::false),
        diagnostic_code => $_->diagnosticcode, feedback_type => $_->feedbacktype,
    } } @$found;
    print $json->encode({file => $file, events => \@events}), "\n";
}
"""


def parse_sisimai(out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Sisimai (``perl -MSisimai``) on every .eml of ``out_dir``: name -> events."""
    files = sorted(str(p) for p in out_dir.glob("*.eml"))
    if not files:
        return {}
    proc = subprocess.run(["perl", "-e", _SISIMAI, *files], check=True, capture_output=True,
                          text=True)
    return _events(proc.stdout)


def _events(jsonl: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for line in jsonl.splitlines():
        if line.strip():
            d = json.loads(line)
            out[Path(d["file"]).name.removesuffix(".eml")] = d.get("events") or []
    return out


def score(labels: dict[str, list[dict[str, Any]]],
          preds: dict[str, list[dict[str, Any]]]) -> Score:
    s = Score()
    for name in sorted(labels):
        got = preds.get(name, [])
        s.emails += 1
        s.detected += bool(got)
        if not got:
            s.mismatches.append(f"{name}: NOT DETECTED (no event)")
        by_rcpt = {(e.get("recipient") or "").lower(): e for e in got}
        for i, want in enumerate(sorted(labels[name], key=lambda x: x["index"])):
            s.events += 1
            rcpt = (want.get("recipient") or "").lower()
            ev = by_rcpt.get(rcpt)
            if ev is not None:
                s.recipient_ok += 1
            else:
                ev = got[i] if i < len(got) else None
                if got:
                    s.mismatches.append(
                        f"{name}: recipient expected {rcpt!r} got "
                        f"{[e.get('recipient') for e in got]}")
            if ev is None:
                continue
            # A feedback report's reason is right only with its feedback type.
            kind = want.get("feedback_type") or ""
            got_kind = ev.get("feedback_type") or ""
            checks = (
                ("reason", want["reason"] + (f"/{kind}" if kind else ""),
                 (ev.get("reason") or "") + (f"/{got_kind}" if kind else "")),
                ("status", want["status"], ev.get("status") or ""),
                ("hard", bool(want["hardbounce"]), bool(ev.get("hard_bounce"))),
            )
            for fname, exp, val in checks:
                if exp == val:
                    setattr(s, f"{fname}_ok", getattr(s, f"{fname}_ok") + 1)
                else:
                    diag = (ev.get("diagnostic_code") or "")[:110]
                    s.mismatches.append(
                        f"{name} [{rcpt}]: {fname} expected {exp!r} got {val!r}"
                        f" (detected_by={ev.get('detected_by')}; diagnostic: {diag!r})")
    return s


def score_dir(out_dir: Path) -> Score:
    labels = json.loads((out_dir / "labels.json").read_text())
    return score(labels, parse(out_dir))


def score_by_mta(labels: dict[str, list[dict[str, Any]]],
                 preds: dict[str, list[dict[str, Any]]]) -> dict[str, Score]:
    """One score per lab instance (the file name's part before the first "-")."""
    mtas = sorted({name.split("-", 1)[0] for name in labels})
    return {
        mta: score({n: v for n, v in labels.items() if n.split("-", 1)[0] == mta}, preds)
        for mta in mtas
    }


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    sisimai = "--sisimai" in args
    args = [a for a in args if a != "--sisimai"]
    if len(args) != 1:
        print("usage: python -m dev.bouncelab.score OUT_DIR [--sisimai]", file=sys.stderr)
        return 2
    out_dir = Path(args[0])
    labels = json.loads((out_dir / "labels.json").read_text())
    preds = parse_sisimai(out_dir) if sisimai else parse(out_dir)
    s = score(labels, preds)
    for line in s.mismatches:
        print(line)
    for mta, part in score_by_mta(labels, preds).items():
        print(f"{mta}: {part.summary()}")
    print(s.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
