"""The delivery state machine: the statuses, and every allowed move between them, as data. Pure.

Every write of ``deliveries.status`` names one of the :class:`Event` below, and
:func:`transition` says whether it may happen from the status the row has. The open, terminal
and never-delivered sets are derived from the table, so adding a status or a move is one edit here.

| event             | from                                                        | to                 |
|-------------------|-------------------------------------------------------------|--------------------|
| ``queued``        | (new)                                                       | pending            |
| ``await_adapter`` | (new), held_for_consent (its consent came; no adapter yet)  | awaiting_adapter   |
| ``await_consent`` | (new)                                                       | held_for_consent   |
| ``unchanged``     | (new: a correction that re-sends nothing)                   | unchanged          |
| ``adapter_ready`` | awaiting_adapter                                            | pending            |
| ``consent_given`` | held_for_consent                                            | pending            |
| ``claim``         | pending                                                     | in_flight          |
| ``deliver``       | in_flight                                                   | delivered          |
| ``retry``         | in_flight                                                   | pending            |
| ``hand_back``     | in_flight (lease expired, or the caller stopped waiting)    | pending            |
| ``exhaust``       | in_flight (the retry budget is spent)                       | held               |
| ``fail``          | in_flight (a permanent error)                               | failed             |
| ``consent_lapsed``| in_flight (its consent is no longer valid at sending)       | held_for_consent   |
| ``supersede``     | pending, awaiting_adapter, held_for_consent, held, failed   | cancelled          |
| ``revoke``        | pending, awaiting_adapter, held_for_consent, held, failed   | cancelled          |
| ``expire``        | held_for_consent                                            | cancelled          |
| ``release``       | held, failed (an operator)                                  | pending            |
| ``replay``        | delivered, held, failed, cancelled (an operator)            | pending            |
| ``cancel``        | pending, awaiting_adapter, held_for_consent, held, failed   | cancelled          |
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    HELD = "held"
    FAILED = "failed"
    CANCELLED = "cancelled"
    AWAITING_ADAPTER = "awaiting_adapter"
    HELD_FOR_CONSENT = "held_for_consent"
    UNCHANGED = "unchanged"


class Event(StrEnum):
    QUEUED = "queued"
    AWAIT_ADAPTER = "await_adapter"
    AWAIT_CONSENT = "await_consent"
    UNCHANGED = "unchanged"
    ADAPTER_READY = "adapter_ready"
    CONSENT_GIVEN = "consent_given"
    CLAIM = "claim"
    DELIVER = "deliver"
    RETRY = "retry"
    HAND_BACK = "hand_back"
    EXHAUST = "exhaust"
    FAIL = "fail"
    CONSENT_LAPSED = "consent_lapsed"
    SUPERSEDE = "supersede"
    REVOKE = "revoke"
    EXPIRE = "expire"
    RELEASE = "release"
    REPLAY = "replay"
    CANCEL = "cancel"


S = Status
_STOPPABLE = frozenset({S.PENDING, S.AWAITING_ADAPTER, S.HELD_FOR_CONSENT, S.HELD, S.FAILED})

TRANSITIONS: dict[Event, tuple[frozenset[Status | None], Status]] = {
    Event.QUEUED: (frozenset({None}), S.PENDING),
    Event.AWAIT_ADAPTER: (frozenset({None, S.HELD_FOR_CONSENT}), S.AWAITING_ADAPTER),
    Event.AWAIT_CONSENT: (frozenset({None}), S.HELD_FOR_CONSENT),
    Event.UNCHANGED: (frozenset({None}), S.UNCHANGED),
    Event.ADAPTER_READY: (frozenset({S.AWAITING_ADAPTER}), S.PENDING),
    Event.CONSENT_GIVEN: (frozenset({S.HELD_FOR_CONSENT}), S.PENDING),
    Event.CLAIM: (frozenset({S.PENDING}), S.IN_FLIGHT),
    Event.DELIVER: (frozenset({S.IN_FLIGHT}), S.DELIVERED),
    Event.RETRY: (frozenset({S.IN_FLIGHT}), S.PENDING),
    Event.HAND_BACK: (frozenset({S.IN_FLIGHT}), S.PENDING),
    Event.EXHAUST: (frozenset({S.IN_FLIGHT}), S.HELD),
    Event.FAIL: (frozenset({S.IN_FLIGHT}), S.FAILED),
    Event.CONSENT_LAPSED: (frozenset({S.IN_FLIGHT}), S.HELD_FOR_CONSENT),
    Event.SUPERSEDE: (_STOPPABLE, S.CANCELLED),
    Event.REVOKE: (_STOPPABLE, S.CANCELLED),
    Event.EXPIRE: (frozenset({S.HELD_FOR_CONSENT}), S.CANCELLED),
    Event.RELEASE: (frozenset({S.HELD, S.FAILED}), S.PENDING),
    Event.REPLAY: (frozenset({S.DELIVERED, S.HELD, S.FAILED, S.CANCELLED}), S.PENDING),
    Event.CANCEL: (_STOPPABLE, S.CANCELLED),
}
"""Each event: the statuses it may start from (``None``: a new delivery) and the status it leads to."""

OPERATOR_EVENTS = frozenset({Event.RELEASE, Event.REPLAY, Event.CANCEL})
"""Moves only an operator makes: a status left only by these waits for a person, or is final."""


class TransitionError(ValueError):
    """A move the state machine does not allow."""


def transition(current: Status | str | None, event: Event) -> Status:
    """The status ``event`` leads to from ``current``; TransitionError when it may not happen from there."""
    sources, target = TRANSITIONS[event]
    state = Status(current) if current is not None else None
    if state not in sources:
        raise TransitionError(f"a delivery cannot {event.value} from {current or 'nothing'}")
    return target


def sources(event: Event) -> frozenset[Status]:
    """The existing statuses ``event`` may start from: what a guarded UPDATE puts in its WHERE clause."""
    return frozenset(s for s in TRANSITIONS[event][0] if s is not None)


def target(event: Event) -> Status:
    """The status ``event`` leads to."""
    return TRANSITIONS[event][1]


def _moved_on_by(status: Status, *, operators: bool) -> frozenset[Event]:
    """The events that take ``status`` anywhere but cancelled: what keeps a delivery moving."""
    return frozenset(
        event
        for event, (froms, target) in TRANSITIONS.items()
        if status in froms and target is not S.CANCELLED and (operators or event not in OPERATOR_EVENTS)
    )


_STATUSES = frozenset(Status) - {S.UNCHANGED}  # a pointer to another delivery, never a state of its own
TERMINAL = frozenset(s for s in _STATUSES if _moved_on_by(s, operators=True) <= {Event.REPLAY} and s not in _STOPPABLE)
"""Final: nothing moves it on but an operator's replay (delivered, cancelled)."""
NEEDS_OPERATOR = frozenset(s for s in _STATUSES - TERMINAL if not _moved_on_by(s, operators=False))
"""Stopped until an operator releases, replays or cancels it (held, failed)."""
OPEN = _STATUSES - TERMINAL - NEEDS_OPERATOR
"""Still moving on its own: queued, in flight, or waiting for a consent or an adapter."""
NEVER_DELIVERED = _STOPPABLE
"""Not (yet) at the back-end: what a correction or a revoked consent may still stop."""
