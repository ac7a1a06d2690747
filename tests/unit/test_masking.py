"""Masking an answer for a caller without personal:read."""

from __future__ import annotations

from gateway.masking import WITHHELD, mask_answer


def test_personal_keys_become_their_markers_at_any_depth() -> None:
    answer = {"items": [{"consenter": {"hetu": "091285-9192", "given_names": "Minna", "family_name": "Kelasuo"}}]}
    assert mask_answer(answer) == {
        "items": [{"consenter": {"hetu": "<hetu>", "given_names": "<name>", "family_name": "<name>"}}]
    }


def test_free_text_is_withheld_whatever_it_says() -> None:
    answer = {"purpose": "Kelan puhelinaika", "revocation_reason": "muutti", "message": "HTTP 422: bad"}
    assert set(mask_answer(answer).values()) == {WITHHELD}


def test_a_hetu_or_phone_number_elsewhere_is_caught_by_the_patterns() -> None:
    masked = mask_answer({"status_reason": "client 091285-9192 called from 040 123 4567"})
    assert masked == {"status_reason": "client <hetu> called from <phone>"}


def test_ids_codes_states_and_missing_values_are_left_as_they_are() -> None:
    answer = {"id": "5f0c", "status": "delivered", "attempts": 2, "guardian": None, "last_error": None}
    assert mask_answer(answer) == answer
