"""Worker helpers: capped exponential back-off with jitter, and the transactional.id."""

from __future__ import annotations

import pytest

from bounce_stream.settings import MailboxSettings
from bounce_stream.worker import Backoff, transactional_id


def _caps(initial: float, maximum: float, attempts: int) -> list[float]:
    return [min(maximum, initial * 2**n) for n in range(attempts)]


def test_delays_grow_exponentially(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without jitter (upper bound chosen) the delays double each attempt: 1, 2, 4, 8."""
    monkeypatch.setattr("bounce_stream.worker.random.uniform", lambda _lo, hi: hi)
    backoff = Backoff(1.0, 100.0)
    assert [backoff.next_delay() for _ in range(4)] == [1.0, 2.0, 4.0, 8.0]


def test_delays_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Delays never exceed the maximum, however many attempts."""
    monkeypatch.setattr("bounce_stream.worker.random.uniform", lambda _lo, hi: hi)
    backoff = Backoff(1.0, 10.0)
    delays = [backoff.next_delay() for _ in range(50)]
    assert delays[:5] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert set(delays[4:]) == {10.0}


def test_jitter_within_half_cap_and_cap() -> None:
    """Each delay lies in [cap/2, cap] of its attempt, and the values are not all equal."""
    backoff = Backoff(0.5, 30.0)
    caps = _caps(0.5, 30.0, 12)
    for cap in caps:
        delay = backoff.next_delay()
        assert cap / 2 <= delay <= cap
    capped = Backoff(30.0, 30.0)
    samples = {capped.next_delay() for _ in range(50)}
    assert len(samples) > 1
    assert all(15.0 <= s <= 30.0 for s in samples)


def test_many_attempts_do_not_overflow() -> None:
    """Thousands of failures keep returning the capped delay (no OverflowError)."""
    backoff = Backoff(1.0, 60.0)
    for _ in range(5000):
        delay = backoff.next_delay()
    assert 30.0 <= delay <= 60.0


def test_reset_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """After reset() the next delay is back to the initial one."""
    monkeypatch.setattr("bounce_stream.worker.random.uniform", lambda _lo, hi: hi)
    backoff = Backoff(2.0, 60.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 2.0
    assert backoff.next_delay() == 4.0


def test_transactional_id_derives_from_mailbox_id() -> None:
    """The transactional.id is the prefix plus the mailbox id, and holds no password."""
    mailbox = MailboxSettings(
        name="main",
        host="imap.example.com",
        username="bounces",
        password="Sup3r-Secret-IMAP-pw",  # type: ignore[arg-type]
    )
    tid = transactional_id("bounce-stream", mailbox.mailbox_id)
    assert tid == "bounce-stream:imap://bounces@imap.example.com:993/INBOX"
    assert "Sup3r-Secret-IMAP-pw" not in tid


def test_transactional_id_differs_per_mailbox_and_prefix() -> None:
    """Different mailboxes, or different prefixes, never share a transactional.id."""
    a = transactional_id("bounce-stream", "imap://u@h:993/INBOX")
    b = transactional_id("bounce-stream", "imap://u@h:993/Junk")
    c = transactional_id("staging", "imap://u@h:993/INBOX")
    assert len({a, b, c}) == 3
    assert a == transactional_id("bounce-stream", "imap://u@h:993/INBOX")
