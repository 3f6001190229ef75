"""The suppression policy (pure): which events suppress, release or never count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bounce_stream.settings import SuppressionSettings, load_settings
from bounce_stream.suppression import codec
from bounce_stream.suppression.policy import Policy, RecipientState, apply, release
from bounce_stream.suppression.processor import out_records, policy_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = Policy(soft_threshold=3, soft_window=timedelta(days=7))
RCPT = "user@example.org"


def event(n: int, *, days: float = 0, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": f"e{n}",
        "recipient": RCPT,
        "detected_at": T0 + timedelta(days=days),
        "reason": "mailboxfull",
        "bounce_type": "soft",
        "hard_bounce": False,
        "action": "failed",
    }
    base.update(fields)
    return base


def run(
    events: list[dict[str, Any]], policy: Policy = POLICY
) -> tuple[RecipientState | None, list[Any]]:
    state: RecipientState | None = None
    changes = []
    for ev in events:
        out = apply(policy, state, ev)
        if out.state is not None:
            state = out.state
        if out.change is not None:
            changes.append(out.change)
    return state, changes


def test_hard_bounce_suppresses_at_once_with_its_event_as_evidence() -> None:
    """One hard bounce suppresses the recipient, citing that event, at its event time."""
    state, changes = run(
        [event(1, days=2, bounce_type="hard", hard_bounce=True, reason="userunknown")]
    )
    assert [(c.change, c.rule, c.evidence, c.at) for c in changes] == [
        ("suppressed", "hard_bounce", ("e1",), T0 + timedelta(days=2))
    ]
    assert state is not None and state.suppressed_since == T0 + timedelta(days=2)
    assert state.count("hard") == 1 and state.last_reason == "userunknown"


def test_soft_bounces_suppress_only_at_the_threshold_within_the_window() -> None:
    """Two soft bounces do nothing; the third within seven days suppresses citing all three."""
    state, changes = run([event(1), event(2, days=1)])
    assert changes == [] and state is not None and not state.suppressed
    state, changes = run([event(1), event(2, days=1), event(3, days=6.5)])
    assert [(c.rule, c.evidence) for c in changes] == [("soft_bounces", ("e1", "e2", "e3"))]


def test_soft_bounces_older_than_the_window_do_not_count() -> None:
    """Soft bounces spread over more than the window never reach the threshold."""
    state, changes = run([event(1), event(2, days=5), event(3, days=10), event(4, days=16)])
    assert changes == []
    assert state is not None and state.count("soft") == 2  # e3 and e4


def test_complaint_suppresses() -> None:
    """A feedback report (complaint) suppresses the recipient."""
    _, changes = run([event(1, reason="feedback", bounce_type="undetermined")])
    assert [c.rule for c in changes] == ["complaint"]


def test_auto_replies_and_delays_never_count() -> None:
    """Vacation auto-replies and delayed DSNs leave no state and fire no rule."""
    evs = [event(i, reason="vacation") for i in range(5)]
    evs += [event(10 + i, action="delayed", reason="expired") for i in range(5)]
    state, changes = run(evs)
    assert state is None and changes == []


def test_positive_dsn_releases_a_suppressed_recipient_and_clears_the_window() -> None:
    """A delivered DSN after a suppression releases it once; a later soft bounce counts anew."""
    state, changes = run(
        [
            event(1, bounce_type="hard", hard_bounce=True),
            event(2, days=1, reason="delivered", action="delivered", bounce_type="undetermined"),
            event(3, days=2),
        ]
    )
    assert [(c.change, c.rule, c.evidence) for c in changes] == [
        ("suppressed", "hard_bounce", ("e1",)),
        ("released", "delivered", ("e2",)),
    ]
    assert state is not None and not state.suppressed and state.count("soft") == 1


def test_an_already_suppressed_recipient_is_not_suppressed_twice() -> None:
    """Further bounces while suppressed update the counts but emit no second change."""
    state, changes = run(
        [event(1, bounce_type="hard", hard_bounce=True), event(2, bounce_type="hard")]
    )
    assert len(changes) == 1 and state is not None and state.count("hard") == 2


def test_a_repeated_event_id_is_applied_once() -> None:
    """The same event read twice (a checkpoint reset republishes it) counts once."""
    state, changes = run([event(1), event(1), event(2), event(2), event(1)])
    assert changes == [] and state is not None and state.count("soft") == 2


def test_manual_release_emits_a_change_only_for_a_suppressed_recipient() -> None:
    """Releasing a suppressed recipient emits `released`/manual; releasing a free one does not."""
    state, _ = run([event(1, reason="feedback")])
    out = release(state, RCPT, T0 + timedelta(days=1))
    assert out.change is not None and (out.change.change, out.change.rule) == ("released", "manual")
    assert out.state is not None and not out.state.suppressed
    assert release(out.state, RCPT, T0 + timedelta(days=2)).change is None


def test_rules_can_be_switched_off() -> None:
    """With suppress_on_hard false a hard bounce is counted but does not suppress."""
    state, changes = run([event(1, bounce_type="hard")], Policy(suppress_on_hard=False))
    assert changes == [] and state is not None and state.count("hard") == 1


def test_state_and_change_round_trip_through_avro() -> None:
    """RecipientState survives Avro encoding unchanged, so a rebuild restores it exactly."""
    state, changes = run([event(1), event(2, days=1), event(3, days=2, reason="feedback")])
    assert state is not None
    enc = codec.state_encoder()
    back = codec.state_from_record(
        codec.state_decoder().decode(enc.encode(codec.state_to_record(state)))
    )
    assert back == state
    record = codec.change_decoder().decode(
        codec.change_encoder().encode(codec.change_to_record(changes[0]))
    )
    assert record["rule"] == "complaint" and record["evidence"] == ["e3"]


def test_policy_comes_from_the_suppression_settings_section() -> None:
    """Settings `suppression` (here via environment overrides) set the policy's numbers."""

    settings = load_settings(
        None,
        {
            "BOUNCE_STREAM__SUPPRESSION__SOFT_THRESHOLD": "5",
            "BOUNCE_STREAM__SUPPRESSION__SOFT_WINDOW_DAYS": "1.5",
            "BOUNCE_STREAM__SUPPRESSION__SUPPRESS_ON_COMPLAINT": "false",
        },
    )
    policy = policy_of(settings.suppression)
    assert policy == Policy(
        soft_threshold=5, soft_window=timedelta(days=1.5), suppress_on_complaint=False
    )
    assert settings.suppression.recipients_topic == "bounce-stream.recipients"


def test_state_goes_to_the_events_partition_and_the_change_is_keyed_by_recipient() -> None:
    """The new state is written to the same partition number as its event; the change by key."""

    outcome = apply(POLICY, None, event(1, bounce_type="hard"))
    records = out_records(SuppressionSettings(), 2, RCPT.encode(), outcome)
    assert [(r.topic, r.partition, r.key) for r in records] == [
        ("bounce-stream.recipients", 2, RCPT.encode()),
        ("bounce-stream.suppressions", None, RCPT.encode()),
    ]
    assert (
        out_records(
            SuppressionSettings(),
            2,
            RCPT.encode(),
            apply(POLICY, None, event(2, reason="vacation")),
        )
        == []
    )
