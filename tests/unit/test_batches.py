"""The batch planner: which pending UIDs the next batch holds, pure (no IMAP, no Kafka)."""

from __future__ import annotations

from bounce_stream.batches import INFO_AHEAD, MAX_UID, BatchPlanner, Plan, assemble
from bounce_stream.mailbox.imap import FetchedMessage, MessageInfo


def _planner(
    *, max_messages: int = 10, max_bytes: int = 1000, max_message_bytes: int = 500
) -> BatchPlanner:
    return BatchPlanner(
        max_messages=max_messages, max_bytes=max_bytes, max_message_bytes=max_message_bytes
    )


def _infos(*sizes: tuple[int, int]) -> list[MessageInfo]:
    return [MessageInfo(uid, size, None) for uid, size in sizes]


def test_refill_drops_uids_beyond_32_bits_and_counts_them() -> None:
    """UIDs past RFC 3501's 32 bits never become candidates; refill says how many it dropped."""
    planner = _planner()
    assert planner.refill([3, MAX_UID, MAX_UID + 1, 2**70]) == 2
    assert planner.candidates(0) == [3, MAX_UID]
    assert planner.backlog == 2


def test_refill_replaces_what_was_pending() -> None:
    """A new SEARCH answer replaces the old pending UIDs instead of adding to them."""
    planner = _planner()
    planner.refill([1, 2, 3])
    planner.refill([7])
    assert planner.candidates(0) == [7]


def test_candidates_are_the_next_uids_after_the_position_up_to_the_message_cap() -> None:
    """Candidates skip UIDs at or before ``after`` and stop at batch_max_messages."""
    planner = _planner(max_messages=3)
    planner.refill([2, 4, 6, 8, 10, 12])
    assert planner.candidates(4) == [6, 8, 10]


def test_has_pending_after_tells_when_to_ask_the_server_again() -> None:
    """Only a known UID after the position spares a new SEARCH."""
    planner = _planner()
    assert not planner.has_pending_after(0)
    planner.refill([5, 9])
    assert planner.has_pending_after(5)
    assert not planner.has_pending_after(9)


def test_plan_stops_at_the_byte_budget_and_covers_only_what_it_takes() -> None:
    """Messages are taken in UID order while they fit; the cutoff is the last one taken."""
    plan = _planner(max_bytes=1000).plan(
        0, [1, 2, 3, 4], _infos((1, 400), (2, 400), (3, 400), (4, 1))
    )
    assert [i.uid for i in plan.chosen] == [1, 2]
    assert plan.oversized == [] and plan.cutoff == 2


def test_plan_always_takes_the_first_message_even_over_the_budget() -> None:
    """A first message larger than batch_max_bytes (but under max_message_bytes) still goes."""
    plan = _planner(max_bytes=100, max_message_bytes=500).plan(0, [1, 2], _infos((1, 300), (2, 1)))
    assert [i.uid for i in plan.chosen] == [1] and plan.cutoff == 1


def test_plan_sets_oversized_messages_aside_and_covers_them() -> None:
    """A message over max_message_bytes is never fetched, but the batch moves past it."""
    plan = _planner(max_message_bytes=500).plan(0, [1, 2, 3], _infos((1, 10), (2, 501), (3, 10)))
    assert [i.uid for i in plan.chosen] == [1, 3]
    assert [i.uid for i in plan.oversized] == [2] and plan.cutoff == 3


def test_plan_covers_uids_expunged_since_search() -> None:
    """A candidate the server no longer describes is covered by the cutoff, not fetched."""
    plan = _planner().plan(10, [11, 12, 13], _infos((12, 10)))
    assert [i.uid for i in plan.chosen] == [12] and plan.cutoff == 13


def test_plan_of_only_expunged_uids_still_moves_on() -> None:
    """A prefix whose messages all vanished gives an empty batch whose cutoff passes them."""
    plan = _planner().plan(10, [11, 12], [])
    assert plan.chosen == [] and plan.cutoff == 12


def test_assemble_moves_bodies_read_past_to_the_dead() -> None:
    """A body the adapter read past (its size lied) joins the batch's dead, after the oversized."""
    plan = Plan(chosen=_infos((1, 10), (3, 10)), oversized=_infos((2, 900)), cutoff=3)
    fetched = [
        FetchedMessage(1, 10, None, b"x" * 10),
        FetchedMessage(3, 10**9, None, b"", oversized=True),
    ]
    batch = assemble(plan, fetched, started=5.0)
    assert [m.uid for m in batch.fetched] == [1]
    assert [(i.uid, i.size) for i in batch.dead] == [(2, 900), (3, 10**9)]
    assert batch.cutoff == 3 and batch.started == 5.0
    assert batch.messages == 3 and batch.uids == [1, 2, 3]


def test_committed_drops_the_covered_uids_only() -> None:
    """After a commit the backlog holds only the UIDs past the batch's cutoff."""
    planner = _planner()
    planner.refill([1, 2, 3, 4])
    planner.committed(2)
    assert planner.backlog == 2 and planner.candidates(0) == [3, 4]
    planner.clear()
    assert planner.backlog == 0


def test_metadata_is_asked_for_far_ahead_once_then_not_until_past_it() -> None:
    """unknown() asks for up to INFO_AHEAD pending UIDs in one go, then for none while the
    next batches' candidates are all known."""
    planner = _planner(max_messages=10)
    planner.refill(list(range(1, INFO_AHEAD + 101)))
    asked = planner.unknown(0)
    assert asked == list(range(1, INFO_AHEAD + 1))
    planner.learn(asked, [MessageInfo(uid, 10, None) for uid in asked])
    assert planner.unknown(0) == [] and planner.unknown(INFO_AHEAD - 10) == []
    # The candidates after INFO_AHEAD - 5 reach past what was learnt: ask again, from there.
    assert planner.unknown(INFO_AHEAD - 5) == list(range(INFO_AHEAD + 1, INFO_AHEAD + 101))


def test_uids_asked_for_but_not_described_are_covered_as_expunged() -> None:
    """A UID the metadata FETCH did not describe is known to be gone: the plan passes it."""
    planner = _planner()
    planner.refill([1, 2, 3])
    planner.learn([1, 2, 3], _infos((1, 10), (3, 10)))
    assert planner.unknown(0) == []
    candidates = planner.candidates(0)
    plan = planner.plan(0, candidates, planner.known(candidates))
    assert [i.uid for i in plan.chosen] == [1, 3] and plan.cutoff == 3


def test_answers_for_uids_not_asked_for_are_ignored() -> None:
    """A FETCH response naming a UID that was not asked for teaches the planner nothing."""
    planner = _planner()
    planner.refill([1, 2])
    planner.learn([1], _infos((1, 10), (2, 999)))
    assert planner.known([1, 2]) == _infos((1, 10))
    assert planner.unknown(0) == [2]


def test_what_was_learnt_lives_as_long_as_its_uid_is_pending() -> None:
    """Metadata is dropped with its UID at commit, kept across a refill that still lists the
    UID, and forgotten by clear()."""
    planner = _planner()
    planner.refill([1, 2, 3])
    planner.learn([1, 2, 3], _infos((1, 10), (2, 20), (3, 30)))
    planner.committed(1)
    assert planner.known([1, 2, 3]) == _infos((2, 20), (3, 30))
    planner.refill([3, 4])
    assert planner.known([2, 3]) == _infos((3, 30)) and planner.unknown(0) == [4]
    planner.clear()
    assert planner.known([3]) == [] and planner.unknown(0) == []
