"""Splitting mailboxes between replicas and reading this replica's slot from the environment."""

from __future__ import annotations

import pytest

from bounce_stream.service import (
    REPLICA_COUNT_ENV,
    REPLICA_INDEX_ENV,
    owned_mailboxes,
    replica_slot,
)
from bounce_stream.settings import ConfigError, MailboxSettings


def _mailboxes(n: int) -> list[MailboxSettings]:
    return [
        MailboxSettings(
            name=f"mb{i}",
            host=f"imap{i % 3}.example.com",
            username=f"user{i}",
            password="pw",  # type: ignore[arg-type]
        )
        for i in range(n)
    ]


MAILBOXES = _mailboxes(40)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_every_mailbox_has_exactly_one_owner(count: int) -> None:
    """Across replicas 0..count-1 each mailbox is owned by exactly one replica."""
    owners: dict[str, list[int]] = {mb.name: [] for mb in MAILBOXES}
    for index in range(count):
        for mb in owned_mailboxes(MAILBOXES, index, count):
            owners[mb.name].append(index)
    assert all(len(o) == 1 for o in owners.values()), owners


def test_single_replica_owns_everything_in_order() -> None:
    """With one replica, it owns all mailboxes in config order."""
    assert owned_mailboxes(MAILBOXES, 0, 1) == MAILBOXES


def test_split_uses_every_replica() -> None:
    """With 40 mailboxes and 3 replicas, no replica is left without work."""
    assert all(owned_mailboxes(MAILBOXES, i, 3) for i in range(3))


def test_split_is_stable() -> None:
    """The same config gives the same split on every call (and thus on every replica)."""
    first = [[mb.name for mb in owned_mailboxes(MAILBOXES, i, 4)] for i in range(4)]
    again = [[mb.name for mb in owned_mailboxes(_mailboxes(40), i, 4)] for i in range(4)]
    assert first == again


def test_split_does_not_depend_on_list_order_or_neighbours() -> None:
    """A mailbox's owner depends on its identity only, not on its position or the others."""
    target = MAILBOXES[7]
    owner = next(i for i in range(3) if target in owned_mailboxes(MAILBOXES, i, 3))
    shuffled = list(reversed(MAILBOXES[:20]))
    assert target in owned_mailboxes(shuffled, owner, 3)
    assert target in owned_mailboxes([target], owner, 3)


def test_split_depends_on_mailbox_id_not_password() -> None:
    """Rotating a password (not part of the mailbox id) does not move the mailbox."""
    before = MAILBOXES[3]
    rotated = MailboxSettings(
        name=before.name,
        host=before.host,
        username=before.username,
        password="rotated",  # type: ignore[arg-type]
    )
    owners_before = [i for i in range(5) if owned_mailboxes([before], i, 5)]
    owners_rotated = [i for i in range(5) if owned_mailboxes([rotated], i, 5)]
    assert owners_before == owners_rotated
    assert len(owners_before) == 1


def test_replica_slot_defaults() -> None:
    """Without the variables this process is replica 0 of 1."""
    assert replica_slot({}) == (0, 1)


def test_replica_slot_empty_values_mean_defaults() -> None:
    """Empty variables are treated like unset ones."""
    assert replica_slot({REPLICA_INDEX_ENV: "", REPLICA_COUNT_ENV: ""}) == (0, 1)


def test_replica_slot_reads_numbers() -> None:
    """Plain numbers in BOUNCE_STREAM_REPLICA_INDEX/COUNT give that slot."""
    assert replica_slot({REPLICA_INDEX_ENV: "2", REPLICA_COUNT_ENV: "3"}) == (2, 3)


def test_replica_slot_pod_name_index() -> None:
    """A StatefulSet pod name like 'bounce-stream-2' yields its ordinal 2."""
    assert replica_slot({REPLICA_INDEX_ENV: "bounce-stream-2", REPLICA_COUNT_ENV: "3"}) == (2, 3)


def test_replica_slot_reads_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit mapping, the process environment is read."""
    monkeypatch.setenv(REPLICA_INDEX_ENV, "bounce-stream-1")
    monkeypatch.setenv(REPLICA_COUNT_ENV, "2")
    assert replica_slot() == (1, 2)


@pytest.mark.parametrize(("index", "count"), [("3", "3"), ("bounce-stream-5", "2"), ("1", "1")])
def test_replica_slot_index_must_be_below_count(index: str, count: str) -> None:
    """An index >= count is a ConfigError naming both variables."""
    with pytest.raises(ConfigError, match=REPLICA_INDEX_ENV) as info:
        replica_slot({REPLICA_INDEX_ENV: index, REPLICA_COUNT_ENV: count})
    assert REPLICA_COUNT_ENV in str(info.value)


@pytest.mark.parametrize(
    "environ",
    [
        {REPLICA_INDEX_ENV: "two"},
        {REPLICA_INDEX_ENV: "bounce-stream"},
        {REPLICA_INDEX_ENV: "1.5", REPLICA_COUNT_ENV: "3"},
        {REPLICA_COUNT_ENV: "three"},
        {REPLICA_COUNT_ENV: "0"},
        {REPLICA_COUNT_ENV: "-2"},
    ],
)
def test_replica_slot_rejects_non_numbers(environ: dict[str, str]) -> None:
    """Non-numeric index or count, or a count below 1, is a ConfigError."""
    with pytest.raises(ConfigError, match="whole numbers"):
        replica_slot(environ)


def test_replica_slot_rejects_negative_index() -> None:
    """A negative index is a ConfigError, not silently replica 1."""
    with pytest.raises(ConfigError):
        replica_slot({REPLICA_INDEX_ENV: "-1", REPLICA_COUNT_ENV: "3"})


def test_replica_slot_non_ascii_digit_is_config_error() -> None:
    """A digit-like character int() cannot read is a ConfigError, not a ValueError crash."""
    with pytest.raises(ConfigError):
        replica_slot({REPLICA_INDEX_ENV: "0", REPLICA_COUNT_ENV: "²"})
