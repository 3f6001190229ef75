"""Which messages go into the next batch: pure planning, no IMAP and no Kafka.

The worker asks the server for the UIDs after its position (``refill``), takes a prefix of
them (``candidates``), and the planner splits that prefix into messages to fetch and dead ones
(over ``max_message_bytes``) within the batch byte budget (``plan``). Once the bodies are
read, :func:`assemble` moves any body the adapter read past (the server's size lied) to the
dead ones. The batch covers every UID up to its ``cutoff``.

Sizes and arrival times are asked for well ahead (``unknown``/``learn``: one UID FETCH for
up to ``INFO_AHEAD`` pending UIDs) and kept until their batch is committed, so a batch
usually costs one round trip, its body FETCH, not a metadata FETCH and a body FETCH. A UID
names one immutable message within a UIDVALIDITY, so what was learnt stays true; the planner
is cleared whenever the position or the connection (and so possibly the UIDVALIDITY) changes.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from bounce_stream.mailbox.imap import FetchedMessage, MessageInfo

# RFC 3501: UIDs and UIDVALIDITY are non-zero unsigned 32-bit numbers. A server that sends
# more is broken or hostile; such a UID could not even be stored in the checkpoint (a long).
MAX_UID = 2**32 - 1
# Pending UIDs whose metadata one UID FETCH asks for (never fewer than a batch's worth): ~100
# bytes a line in the response, ~200 bytes held per UID until its batch is committed.
INFO_AHEAD = 2000


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
        self._info_ahead = max(INFO_AHEAD, max_messages)
        self._pending: deque[int] = deque()
        # What the server said of pending UIDs; None: asked, not described (expunged).
        self._infos: dict[int, MessageInfo | None] = {}

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
        known = self._infos
        self._infos = {uid: known[uid] for uid in self._pending if uid in known}
        return len(uids) - len(self._pending)

    def clear(self) -> None:
        """Forget the pending UIDs and what was learnt of them (the position moved, or a
        connection was lost)."""
        self._pending.clear()
        self._infos.clear()

    def candidates(self, after: int) -> list[int]:
        """The next at most ``max_messages`` pending UIDs after ``after``."""
        pending_after = (uid for uid in self._pending if uid > after)
        return list(itertools.islice(pending_after, self._max_messages))

    def unknown(self, after: int) -> list[int]:
        """The UIDs to ask metadata for before the batch after ``after`` can be planned:
        none while every candidate is known, else the next up to ``INFO_AHEAD`` pending UIDs
        after ``after`` not yet asked for."""
        if all(uid in self._infos for uid in self.candidates(after)):
            return []
        ahead = (uid for uid in self._pending if uid > after and uid not in self._infos)
        return list(itertools.islice(ahead, self._info_ahead))

    def learn(self, asked: list[int], infos: list[MessageInfo]) -> None:
        """Keep what the server said of the ``asked`` UIDs; one it did not describe was
        expunged since SEARCH. Answers for UIDs not asked for are ignored."""
        wanted = set(asked)
        for uid in asked:
            self._infos.setdefault(uid, None)
        for info in infos:
            if info.uid in wanted:
                self._infos[info.uid] = info

    def known(self, uids: list[int]) -> list[MessageInfo]:
        """What is known of ``uids`` (those asked and described), in their order."""
        return [info for uid in uids if (info := self._infos.get(uid)) is not None]

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
            self._infos.pop(self._pending.popleft(), None)
