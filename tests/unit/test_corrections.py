"""Corrections: what a higher revision re-sends, replaces, cancels or leaves alone."""

from __future__ import annotations

from gateway.outbox.corrections import Previous, diff
from gateway.plan import Action


def action(key: str) -> Action:
    return Action(key, "kanta", "social_care_document", "rule", "basis", "why", {"k": key})


def previous(
    key: str, *, digest: str = "old", status: str = "delivered", version: int = 1, supersedes: str | None = None
) -> Previous:
    return Previous(f"d-{key}", key, digest, status, version, supersedes)


def test_an_unchanged_action_is_not_re_sent() -> None:
    [step] = diff([action("a")], {"a": previous("a", digest="same")}, {"a": "same"})
    assert step.change == "unchanged" and step.action is None and step.previous == "d-a"


def test_a_changed_delivered_action_becomes_the_next_version() -> None:
    [step] = diff([action("a")], {"a": previous("a", version=2)}, {"a": "new"})
    assert (step.change, step.supersedes, step.document_version) == ("changed", "d-a", 3)


def test_a_changed_action_never_delivered_replaces_it_as_the_same_version() -> None:
    [step] = diff([action("a")], {"a": previous("a", status="held", version=2, supersedes="d-root")}, {"a": "new"})
    assert (step.cancel, step.supersedes, step.document_version) == ("d-a", "d-root", 2)


def test_a_changed_action_in_flight_waits_for_it_as_the_next_version() -> None:
    [step] = diff([action("a")], {"a": previous("a", status="in_flight")}, {"a": "new"})
    assert (step.supersedes, step.document_version, step.cancel) == ("d-a", 2, None)


def test_a_new_action_is_sent_as_a_first_version() -> None:
    [step] = diff([action("b")], {}, {"b": "x"})
    assert (step.change, step.document_version, step.supersedes) == ("new", 1, None)


def test_an_action_the_correction_drops_is_reported_not_deleted() -> None:
    steps = diff([], {"a": previous("a")}, {})
    assert [(s.change, s.previous) for s in steps] == [("removed", "d-a")]
