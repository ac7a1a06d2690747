"""What a caller without the ``personal:read`` scope may see of an answer: pure, no I/O.

Personal fields (hetu, names, phone numbers, e-mail) become their markers, free text (a consent's
purpose, a revocation reason, a form reference, what a back-end said) is withheld, and every other
string passes the pattern safety net, so that a hetu or a phone number that reached a code or a
reason by any path is still masked. Ids, codes, states and times are left as they are: they are what
an operator needs, and they say nothing about the person without the register.
"""

from __future__ import annotations

from typing import Any

from gateway.redaction import PERSONAL_KEYS, mask_patterns

WITHHELD = "<withheld: needs personal:read>"
FREE_TEXT_KEYS = frozenset({"purpose", "revocation_reason", "form_reference", "message", "last_error"})
"""Keys whose value is written by a person or a back-end: it can say anything about the client."""


def mask_answer(value: Any) -> Any:
    """``value`` (a JSON answer) with its personal data masked, at any depth."""
    if isinstance(value, dict):
        return {key: _mask_field(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_answer(item) for item in value]
    if isinstance(value, str):
        return mask_patterns(value)
    return value


def _mask_field(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in PERSONAL_KEYS:
        return PERSONAL_KEYS[key]
    if key in FREE_TEXT_KEYS and isinstance(value, str):
        return WITHHELD
    return mask_answer(value)
