"""`reprocess --from-archive`, its pure parts: ids, `--since`, progress and usage errors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bounce_stream.classifying import ClassifyFailure
from bounce_stream.cli import main
from bounce_stream.detection import parse
from bounce_stream.events import Source, event_records
from bounce_stream.publishing.archive import ArchivedMessage, Origin, archive_record, read_archived
from bounce_stream.publishing.reprocess import (
    ReplayReport,
    ReplayStats,
    parse_since,
    progress_line,
    replay,
)
from tests.integration.pipeline import make_dsn

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ORIGIN = Origin("imap://u@h:993/INBOX", 42, 7, datetime(2026, 11, 25, 10, 0, tzinfo=UTC))


def _archived(raw: bytes, fingerprint: str, max_bytes: int = 1 << 20) -> ArchivedMessage:
    rec = archive_record("t", fingerprint, raw, ORIGIN, max_bytes)
    return read_archived(rec.key, rec.value, rec.headers)


def _original(raw: bytes) -> list[dict[str, object]]:
    source = Source(ORIGIN.mailbox, ORIGIN.uid, ORIGIN.uidvalidity, ORIGIN.received_at)
    return event_records(parse(raw), source)


def test_replayed_events_equal_what_the_service_published() -> None:
    """Same ids, mailbox, uid, uidvalidity and detected_at as the original events."""
    raw = make_dsn("gone@example.org")
    archived = _archived(raw, parse(raw).fingerprint)
    replayed = replay(archived, parse(archived.raw))
    assert replayed.error is None and replayed.events == _original(raw)


def test_a_truncated_copy_keeps_the_original_ids() -> None:
    """A message archived cut (no Message-ID, so its digest changes) gets its ids from the key."""
    raw = (
        b"\r\n".join(
            line
            for line in make_dsn("gone@example.org").split(b"\r\n")
            if b"Message-ID: <dsn" not in line
        )
        + b"x" * 3000
    )
    fingerprint = parse(raw).fingerprint
    archived = _archived(raw, fingerprint, len(raw) - 1000)
    assert archived.truncated and parse(archived.raw).fingerprint != fingerprint
    replayed = replay(archived, parse(archived.raw))
    assert [e["event_id"] for e in replayed.events] == [e["event_id"] for e in _original(raw)]


def test_a_message_detection_still_cannot_read_gives_its_error_and_no_event() -> None:
    """A timeout or an unreadable message is reported, never published."""
    archived = _archived(b"no message\r\n", "sha256:00")
    timed_out = replay(archived, ClassifyFailure("timeout", "not within 10 s"))
    assert timed_out.events == [] and timed_out.error == "timeout: not within 10 s"
    unreadable = replay(archived, parse(archived.raw))
    assert unreadable.events == [] and unreadable.error is not None


def test_an_unpublishable_recipient_is_an_error_not_a_crash() -> None:
    """A recipient over the RFC 5321 limit gives an error for that message only."""
    raw = make_dsn("gone@example.org")
    archived = _archived(raw, "mid:x")
    result = parse(raw)
    long = dataclasses.replace(result.bounces[0], recipient="a" * 300 + "@example.org")
    replayed = replay(archived, dataclasses.replace(result, bounces=(long,)))
    assert replayed.events == [] and "RFC 5321" in (replayed.error or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("36h", NOW - timedelta(hours=36)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2w", NOW - timedelta(weeks=2)),
        ("1.5h", NOW - timedelta(minutes=90)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T08:30:00Z", datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
        ("2026-11-01T08:30:00+01:00", datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
    ],
)
def test_since_takes_iso_times_and_ages(text: str, expected: datetime) -> None:
    """--since is an ISO 8601 date/time (UTC by default) or an age before now."""
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize(
    "text", ["yesterday", "7 days", "-3d", "", "2026-13-01", "99999999999999999d"]
)
def test_since_refuses_anything_else(text: str) -> None:
    """Anything that is neither is a ValueError naming the accepted forms."""
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_since(text, NOW)


def test_progress_line_gives_count_rate_share_and_eta() -> None:
    """Half the offsets done in 10 s: 50 %, ETA 10 s."""
    line = progress_line(done=500, total=1000, records=480, elapsed=10.0)
    assert (
        line
        == "reprocess: 480 message(s), 48/s, 50.0 % of the archive to its end offsets, ETA 0:10"
    )


def test_progress_line_without_a_known_end_has_no_eta() -> None:
    """An empty range (nothing to do) shows no share and no ETA."""
    assert "ETA" not in progress_line(done=0, total=0, records=0, elapsed=1.0)


def test_summary_names_every_count_and_the_group() -> None:
    """The closing line says what was read, published, skipped and where progress is kept."""
    stats = ReplayStats(10, 9, 12, 1, 1, 2, 1, 0)
    text = ReplayReport(stats, "a.archive", "a.replay", "grp", resumed=True).summary(2.0)
    for part in (
        "10 archive record(s) read from a.archive",
        "resumed",
        "9 reclassified",
        "12 event(s) published to a.replay",
        "1 not bounce(s)",
        "1 failed",
        "2 truncated",
        "1 unreadable",
        "0 before --since",
        "'grp'",
    ):
        assert part in text


def _config(tmp_path: Path, **kafka: object) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"kafka": {"bootstrap_servers": "127.0.0.1:1", **kafka}}))
    return path


def test_reprocess_needs_from_archive(tmp_path: Path) -> None:
    """The source is named explicitly: without --from-archive it is a usage error (2)."""
    result = CliRunner().invoke(main, ["reprocess", "-c", str(_config(tmp_path))])
    assert result.exit_code == 2 and "--from-archive" in result.output


def test_reprocess_bad_since_is_a_usage_error(tmp_path: Path) -> None:
    """A --since that is no time exits 2 before anything connects."""
    config = _config(tmp_path, archive_topic="a")
    result = CliRunner().invoke(
        main, ["reprocess", "--from-archive", "-c", str(config), "--since", "soon"]
    )
    assert result.exit_code == 2 and "--since" in result.output


def test_reprocess_without_an_archive_topic_says_so(tmp_path: Path) -> None:
    """No kafka.archive_topic: one error line, exit 1, nothing contacted."""
    result = CliRunner().invoke(main, ["reprocess", "--from-archive", "-c", str(_config(tmp_path))])
    assert result.exit_code == 1 and "kafka.archive_topic is not configured" in result.output


def test_reprocess_refuses_to_write_into_the_archive_itself(tmp_path: Path) -> None:
    """--to-topic naming the archive topic is a usage error (2): it would feed on itself."""
    config = _config(tmp_path, archive_topic="a.archive")
    result = CliRunner().invoke(
        main, ["reprocess", "--from-archive", "-c", str(config), "--to-topic", "a.archive"]
    )
    assert result.exit_code == 2 and "archive topic itself" in result.output
