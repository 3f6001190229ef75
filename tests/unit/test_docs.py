"""The documentation in the repository says what the code does, and links nowhere outside it."""

from __future__ import annotations

import re
from pathlib import Path

from bounce_stream.detection import Reason

ROOT = Path(__file__).parents[2]


def test_reason_table_lists_exactly_the_reason_vocabulary() -> None:
    """docs/reasons.md names the reasons of the Python enum (which the Avro enum mirrors)."""
    table = re.findall(r"^\| ([a-z]+) \|", (ROOT / "docs/reasons.md").read_text(), re.M)
    assert table[0] == "reason"  # the header row
    assert table[1:] == [r.value for r in Reason]


def test_no_document_links_outside_the_repository() -> None:
    """Markdown links resolve inside the repository: it stands alone for its users."""
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+)", doc.read_text()):
            if "://" in target:
                continue
            resolved = (doc.parent / target).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), (doc.name, target)
