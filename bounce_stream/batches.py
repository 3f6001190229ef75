"""Which messages go into the next batch: pure planning, no IMAP and no Kafka.

The worker asks the server for the UIDs after its position (``refill``), takes a prefix of
them (``candidates``), asks for their sizes, and the planner splits that prefix into
messages to fetch and dead ones (over ``max_message_bytes``) within the batch byte budget
(``plan``). Once the bodies are read, :func:`assemble` moves any body the adapter read past
(the server's size lied) to the dead ones. The batch covers every UID up to its ``cutoff``.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from bounce_stream.mailbox.imap import FetchedMessage, MessageInfo

# RFC 3501: UIDs and UIDVALIDITY are non-zero unsigned 32-bit numbers. A server that sends
# more is broken or hostile; such a UID could not even be stored in the checkpoint (a long).
MAX_UID = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Plan:
    """What to fetch of one prefix of the pending UIDs."""

    chosen: list[MessageInfo]  # to fetch, in UID order, within the byte budget
    oversized: list[MessageInfo]  # over max_message_bytes: dead-lettered, never fetched
    cutoff: int  # the last UID the batch covers (what the checkpoint moves to)


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch: the bodies read, the messages dead-lettered by reference, its last UID."""

    fetched: list[FetchedMessage]
    # Messages too large to read (by RFC822.SIZE, or read past when the size lied): each
    # gives a dead letter by reference.
    dead: list[MessageInfo]
    cutoff: int
    started: float  # time.perf_counter() when the batch was started

    @property
    def messages(self) -> int:
        return len(self.fetched) + len(self.dead)

    @property
    def uids(self) -> list[int]:
        """Every message UID the batch holds: fetched first, then dead."""
        return [m.uid for m in self.fetched] + [i.uid for i in self.dead]


def assemble(plan: Plan, fetched: list[FetchedMessage], started: float) -> Batch:
    """The batch of ``plan`` once its bodies are ``fetched``."""
    read_past = [MessageInfo(m.uid, m.size, m.internal_date) for m in fetched if m.oversized]
    kept = [m for m in fetched if not m.oversized]
    return Batch(kept, plan.oversized + read_past, plan.cutoff, started)


class BatchPlanner:
    """The UIDs known to be waiting, and the rule that cuts them into bounded batches."""

    def __init__(self, *, max_messages: int, max_bytes: int, max_message_bytes: int) -> None:
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._max_message_bytes = max_message_bytes
        self._pending: deque[int] = deque()

    @property
    def backlog(self) -> int:
        """How many UIDs are known to be waiting (read or in flight, not yet committed)."""
        return len(self._pending)

    def has_pending_after(self, uid: int) -> bool:
        """Whether a known UID is after ``uid`` (if not, ask the server again)."""
        return bool(self._pending) and self._pending[-1] > uid

    def refill(self, uids: list[int]) -> int:
        """Replace the pending UIDs with ``uids`` (ascending, as SEARCH gives them).

        UIDs beyond IMAP's 32-bit range are dropped; returns how many were.
        """
        self._pending.clear()
        self._pending.extend(uid for uid in uids if uid <= MAX_UID)
        return len(uids) - len(self._pending)

    def clear(self) -> None:
        """Forget the pending UIDs (the position moved, or a connection was lost)."""
        self._pending.clear()

    def candidates(self, after: int) -> list[int]:
        """The next at most ``max_messages`` pending UIDs after ``after``."""
        pending_after = (uid for uid in self._pending if uid > after)
        return list(itertools.islice(pending_after, self._max_messages))

    def plan(self, after: int, candidates: list[int], infos: list[MessageInfo]) -> Plan:
        """Split a UID-ordered prefix of ``candidates`` into messages to fetch and oversized
        ones, within the batch byte budget.

        A UID without info was expunged since SEARCH: the batch covers it, nothing to read.
        The first message to fetch is always taken, however large (up to max_message_bytes),
        so a batch always moves on.
        """
        by_uid = {i.uid: i for i in infos}
        chosen: list[MessageInfo] = []
        oversized: list[MessageInfo] = []
        budget = self._max_bytes
        cutoff = after
        for uid in candidates:
            info = by_uid.get(uid)
            if info is None:
                cutoff = uid
                continue
            if info.size > self._max_message_bytes:
                oversized.append(info)
                cutoff = uid
                continue
            if chosen and info.size > budget:
                break
            chosen.append(info)
            budget -= info.size
            cutoff = uid
        return Plan(chosen, oversized, cutoff)

    def committed(self, cutoff: int) -> None:
        """Drop the pending UIDs a committed batch covered (up to ``cutoff``)."""
        while self._pending and self._pending[0] <= cutoff:
            self._pending.popleft()
