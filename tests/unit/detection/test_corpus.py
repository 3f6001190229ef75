"""The development corpus (tests/corpus, Sisimai's curated set-of-emails) scored in the suite.

Each labelled message's expected events are aligned with ours by position, as Sisimai's own
test suite reads them. The thresholds are the scores the classifier reached when they were set:
a change that loses a message fails here, and one that gains lets the threshold rise. They are
a floor against regressions, not the accuracy that counts (that is measured on bounces outside
this corpus, see benchmarks/README.md).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bounce_stream.detection import Reason, parse
from bounce_stream.inputs import iter_messages

CORPUS = Path(__file__).parents[2] / "corpus"
NOT_FAILURES = {Reason.VACATION, Reason.DELIVERED, Reason.FEEDBACK}

# Floors, in expected events (reason, status, hard) and messages (detected) out of the totals.
MIN_REASON = 362
MIN_STATUS = 364
MIN_HARD = 365
MIN_DETECTED = 343


@dataclass
class Score:
    messages: int = 0
    detected: int = 0
    expected: int = 0
    reason: int = 0
    status: int = 0
    hard: int = 0

    def report(self) -> str:
        return (
            f"reason {self.reason}/{self.expected}, status {self.status}/{self.expected}, "
            f"hard {self.hard}/{self.expected}, detected {self.detected}/{self.messages}"
        )


def _events(path: Path) -> Iterator[tuple[str, str | None, bool]]:
    (unit,) = iter_messages([path])
    for raw in unit.raws:
        for bounce in parse(raw).bounces:
            yield bounce.reason.value, bounce.status, bounce.hard_bounce


@pytest.fixture(scope="module")
def labelled_score() -> tuple[Score, list[str]]:
    labels: dict[str, list[dict[str, object]]] = json.loads((CORPUS / "labels.json").read_text())
    score = Score()
    misses: list[str] = []
    for name, expected in sorted(labels.items()):
        got = list(_events(CORPUS / "labeled" / f"{name}.eml"))
        score.messages += 1
        score.detected += bool(got)
        for i, want in enumerate(sorted(expected, key=lambda e: int(str(e["index"])))):
            score.expected += 1
            if i >= len(got):
                misses.append(f"{name}#{i + 1}: missing")
                continue
            reason, status, hard = got[i]
            score.reason += reason == want["reason"]
            score.status += (status or "") == want["status"]
            score.hard += hard == bool(want["hardbounce"])
            if reason != want["reason"] or (status or "") != want["status"]:
                misses.append(
                    f"{name}#{i + 1}: {reason} {status}, want {want['reason']} {want['status']}"
                )
    return score, misses


def test_labelled_corpus_scores_stay_above_their_floors(
    labelled_score: tuple[Score, list[str]],
) -> None:
    """Reason, status, hard/soft and detection on the labelled corpus never fall below the floor."""
    score, misses = labelled_score
    detail = score.report() + "\n" + "\n".join(misses)
    assert score.messages == 343 and score.expected == 365
    assert score.reason >= MIN_REASON, detail
    assert score.status >= MIN_STATUS, detail
    assert score.hard >= MIN_HARD, detail
    assert score.detected >= MIN_DETECTED, detail


def test_messages_that_are_not_bounces_give_no_failure_event() -> None:
    """A human's mail or a notification that is no bounce never becomes a failure event."""
    paths = sorted((CORPUS / "not-bounce").glob("*.eml"))
    assert paths
    for path in paths:
        reasons = [reason for reason, _, _ in _events(path)]
        assert all(Reason(r) in NOT_FAILURES for r in reasons), (path.name, reasons)


@pytest.mark.parametrize("folder", ["unlabeled", "newline-dos", "newline-mac"])
def test_unlabelled_bounces_parse_without_error(folder: str) -> None:
    """Every other real bounce parses without an error, whatever its line endings."""
    paths = sorted((CORPUS / folder).glob("*.eml"))
    assert paths
    detected: Counter[bool] = Counter()
    for path in paths:
        (unit,) = iter_messages([path])
        results = [parse(raw) for raw in unit.raws]
        assert all(r.error is None for r in results), path.name
        detected[any(r.bounces for r in results)] += 1
    # Line endings must not cost a detection; two unlabelled messages are not detected yet.
    assert detected[False] <= (2 if folder == "unlabeled" else 0), detected
