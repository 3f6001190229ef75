"""The suppression policy: one recipient's state plus one bounce event gives the new state and,
when the rule fires, a change. Pure and deterministic (time is the events' own ``detected_at``),
so replaying the same events always yields the same output.

Rules (settings ``suppression``):

* reason ``vacation`` (auto-reply), action ``delayed`` and an event_id already applied never
  count and change nothing;
* reason ``feedback`` (a complaint) suppresses (rule ``complaint``);
* a hard bounce suppresses (rule ``hard_bounce``);
* ``soft_threshold`` soft or undetermined bounces within ``soft_window_days`` suppress
  (rule ``soft_bounces``);
* reason ``delivered`` (a positive DSN) releases a suppressed recipient (rule ``delivered``)
  and clears its window;
* an operator's ``bounce-stream suppress release`` releases (rule ``manual``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

Kind = Literal["hard", "soft", "complaint"]
ChangeKind = Literal["suppressed", "released"]

# Bound on the window kept per recipient: enough to decide any threshold up to it.
MAX_WINDOW = 64


@dataclass(frozen=True, slots=True)
class Policy:
    soft_threshold: int = 3
    soft_window: timedelta = timedelta(days=7)
    suppress_on_hard: bool = True
    suppress_on_complaint: bool = True
    release_on_delivered: bool = True


@dataclass(frozen=True, slots=True)
class CountedEvent:
    event_id: str
    kind: Kind
    at: datetime


@dataclass(frozen=True, slots=True)
class RecipientState:
    recipient: str
    window: tuple[CountedEvent, ...]
    last_reason: str | None
    last_event_id: str | None
    suppressed_since: datetime | None
    updated_at: datetime

    def count(self, kind: Kind) -> int:
        return sum(1 for e in self.window if e.kind == kind)

    @property
    def suppressed(self) -> bool:
        return self.suppressed_since is not None


@dataclass(frozen=True, slots=True)
class Change:
    recipient: str
    change: ChangeKind
    rule: str
    evidence: tuple[str, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    state: RecipientState | None  # None: nothing to write (the event did not count)
    change: Change | None


def initial_state(recipient: str, at: datetime) -> RecipientState:
    return RecipientState(recipient, (), None, None, None, at)


def classify(event: Mapping[str, Any]) -> Kind | Literal["positive", "ignored"]:
    """What a BounceEvent record means to the policy."""
    reason = str(event.get("reason") or "")
    action = event.get("action")
    if reason == "vacation" or action == "delayed":
        return "ignored"
    if reason == "delivered" or action == "delivered":
        return "positive"
    if reason == "feedback":
        return "complaint"
    if event.get("bounce_type") == "hard" or event.get("hard_bounce") is True:
        return "hard"
    return "soft"


def apply(policy: Policy, state: RecipientState | None, event: Mapping[str, Any]) -> Outcome:
    """Apply one BounceEvent record (fields as in schemas/bounce_event.avsc) to ``state``."""
    recipient = str(event["recipient"])
    event_id = str(event["event_id"])
    at: datetime = event["detected_at"]
    kind = classify(event)
    current = state or initial_state(recipient, at)
    if kind == "ignored" or event_id == current.last_event_id:
        return Outcome(None, None)
    if any(e.event_id == event_id for e in current.window):
        return Outcome(None, None)
    reason = str(event.get("reason") or "") or None
    if kind == "positive":
        if current.suppressed and policy.release_on_delivered:
            new = replace(
                current,
                window=(),
                suppressed_since=None,
                last_reason=reason,
                last_event_id=event_id,
                updated_at=at,
            )
            return Outcome(new, Change(recipient, "released", "delivered", (event_id,), at))
        new = replace(current, window=(), last_reason=reason, last_event_id=event_id, updated_at=at)
        return Outcome(new, None)
    horizon = at - policy.soft_window
    window = tuple(e for e in current.window if e.at > horizon)
    window = (*window, CountedEvent(event_id, kind, at))[-MAX_WINDOW:]
    new = replace(current, window=window, last_reason=reason, last_event_id=event_id, updated_at=at)
    if current.suppressed:
        return Outcome(new, None)
    fired = _rule(policy, kind, event_id, window)
    if fired is None:
        return Outcome(new, None)
    rule, evidence = fired
    new = replace(new, suppressed_since=at)
    return Outcome(new, Change(recipient, "suppressed", rule, evidence, at))


def _rule(
    policy: Policy, kind: Kind, event_id: str, window: tuple[CountedEvent, ...]
) -> tuple[str, tuple[str, ...]] | None:
    if kind == "hard" and policy.suppress_on_hard:
        return "hard_bounce", (event_id,)
    if kind == "complaint" and policy.suppress_on_complaint:
        return "complaint", (event_id,)
    softs = tuple(e.event_id for e in window if e.kind == "soft")
    if kind == "soft" and len(softs) >= policy.soft_threshold:
        return "soft_bounces", softs[-policy.soft_threshold :]
    return None


def release(state: RecipientState | None, recipient: str, at: datetime) -> Outcome:
    """An operator's release: always writes the state; a change only if it was suppressed."""
    current = state or initial_state(recipient, at)
    new = replace(current, window=(), suppressed_since=None, updated_at=at)
    if not current.suppressed:
        return Outcome(new, None)
    return Outcome(new, Change(recipient, "released", "manual", (), at))
