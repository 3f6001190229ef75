"""The alert rules and their runbooks: every alert links a complete section of docs/runbooks.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
FILES = REPO / "helm" / "bounce-stream" / "files"
ALERTS = FILES / "alerts.yaml"
SUPPRESS_ALERTS = FILES / "alerts-suppress.yaml"
RUNBOOKS = REPO / "docs" / "runbooks.md"


def _rules(*files: Path) -> list[dict[str, Any]]:
    """The alerting rules of ``files`` (default: both rules files)."""
    rules = []
    for path in files or (ALERTS, SUPPRESS_ALERTS):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rules += [rule for group in data["groups"] for rule in group["rules"] if "alert" in rule]
    return rules


def _sections() -> dict[str, str]:
    text = RUNBOOKS.read_text(encoding="utf-8")
    parts = re.split(r"^## (\S+)\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_alert_links_its_runbook_section() -> None:
    """Each alert's runbook_url is docs/runbooks.md#<alert name in lower case>."""
    rules = _rules()
    assert len(rules) >= 8
    for rule in rules:
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/runbooks.md#{rule['alert'].lower()}", rule["alert"]


def test_every_runbook_section_says_meaning_checks_and_fix() -> None:
    """docs/runbooks.md has exactly one section per alert, each with the three parts."""
    sections = _sections()
    assert sorted(sections) == sorted(rule["alert"] for rule in _rules())
    for name, body in sections.items():
        for part in ("**What it means.**", "**What to check.**", "**How to fix.**"):
            assert part in body, f"{name}: {part} missing"


def test_a_vanished_target_has_an_absent_alert() -> None:
    """One alert fires on absent(up{job="bounce-stream"}): no target left to be down."""
    exprs = [" ".join(str(rule["expr"]).split()) for rule in _rules(ALERTS)]
    assert 'absent(up{job="bounce-stream"})' in exprs


def test_suppress_alerts_select_only_the_suppress_job_and_metrics() -> None:
    """The suppress rules file watches job="bounce-stream-suppress" (with its own absent()
    alert) and the processor's metrics; the main file never mentions the suppress job, so
    loading it alone (suppress off) cannot fire for a processor that is not deployed."""
    exprs = [" ".join(str(rule["expr"]).split()) for rule in _rules(SUPPRESS_ALERTS)]
    assert 'absent(up{job="bounce-stream-suppress"})' in exprs
    for expr in exprs:
        assert 'job="bounce-stream-suppress"' in expr or "bounce_stream_suppress_" in expr
    assert "suppress" not in ALERTS.read_text(encoding="utf-8")
