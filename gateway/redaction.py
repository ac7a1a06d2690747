"""What a back-end or a library says, made safe to store, return and log: pure, no I/O.

Two layers, applied in this order by :func:`redact`:

1. **What the delivery knows.** :func:`personal_values` collects the personal values of one
   delivery's payload (client, guardian, child, a notice's reporter): hetus, each part of each name,
   phone numbers and e-mail addresses. Each is replaced wherever the text repeats it: names
   case-insensitively and with a short Finnish case ending (``Virtasen``, ``Matille``), phone
   numbers in whatever formatting the text uses (``040 123 4567``, ``+358 (0)40 1234567``,
   ``00358401234567``...), hetus also without their century sign.
2. **Patterns, as a safety net** (:func:`mask_patterns`, also the log processor's): anything shaped
   like a hetu (every century sign, the 2023 ones included), a Finnish national phone number or an
   international one (``+`` or ``00``) is masked whoever it belongs to. A name has no shape: only
   the first layer can catch it, which is why adapters redact with the delivery's values.

Codes, FHIRPath expressions, SOAP fault codes and document locations keep their text: the markers
(:data:`HETU`, :data:`NAME`, :data:`PHONE`, :data:`EMAIL`) replace only the personal part.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import phonenumbers

HETU = "<hetu>"
NAME = "<name>"
PHONE = "<phone>"
EMAIL = "<email>"

HETU_PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{6}[-+A-FU-Y]\d{3}[0-9A-Y](?![0-9A-Za-z])", re.IGNORECASE)
"""A hetu: birth date, century sign (``+``, ``-YXWVU``, ``ABCDEF``), individual number, check character."""

_NOT_AFTER = r"(?<![\w+\-./])"  # not inside a word, an id, a version, a path or a longer number
PHONE_INTERNATIONAL = re.compile(_NOT_AFTER + r"(?:\+|00)[1-9](?:[ \-]?(?:\(0\)[ \-]?)?\d){6,14}(?!\w)")
"""E.164 (``+358401234567``) and its usual spellings: ``+358 40 123 4567``, ``+358 (0)40...``, ``00358...``."""
PHONE_FINNISH = re.compile(_NOT_AFTER + r"(?:\(0[1-9]\d{0,2}\)|0[1-9]\d{0,2})(?:[ \-]?\d){5,8}(?!\w)")
"""A Finnish national number: ``040 123 4567``, ``040-1234567``, ``0401234567``, ``09 1234 5678``, ``(09) 123 456``."""

PERSONAL_KEYS: dict[str, str] = {
    "hetu": HETU,
    "given_names": NAME,
    "family_name": NAME,
    "reporter_name": NAME,
    "phone": PHONE,
    "email": EMAIL,
}
"""Payload keys holding a person's values, at any depth (client, guardian, child, consenter).

A birth date is left out on purpose: dates are everywhere in back-end messages (slots, windows,
versions) and masking them would hide what went wrong; the hetu, which carries it, is masked.
"""


def personal_values(payload: Mapping[str, Any]) -> frozenset[str]:
    """Every personal value of a delivery payload, names split into their parts."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(value, str) and value.strip() and key in PERSONAL_KEYS:
                    found.update(_name_parts(value) if PERSONAL_KEYS[key] == NAME else {value.strip()})
                else:
                    walk(value)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)

    walk(payload)
    return frozenset(found)


def redact(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with the ``known`` personal values and anything shaped like a hetu or a phone number masked."""
    text = unicodedata.normalize("NFC", text)
    hetus, phones, emails, names = _classify(known)
    for hetu in hetus:
        text = _hetu_forms(hetu).sub(HETU, text)
    text = _mask_known_phones(text, phones)
    for email in emails:
        text = re.compile(re.escape(email), re.IGNORECASE).sub(EMAIL, text)
    if names:
        text = _names_pattern(names).sub(NAME, text)
    return mask_patterns(text)


def mask_patterns(text: str) -> str:
    """The safety net alone: hetu-, international-phone- and Finnish-phone-shaped text masked."""
    text = HETU_PATTERN.sub(HETU, text)
    text = PHONE_INTERNATIONAL.sub(PHONE, text)
    return PHONE_FINNISH.sub(PHONE, text)


# -- the known values -----------------------------------------------------------------------------------


def _name_parts(name: str) -> set[str]:
    """``"Anna-Liisa Mäki"`` → the whole hyphenated part and each piece: Anna-Liisa, Anna, Liisa, Mäki."""
    parts = set()
    for word in name.split():
        parts.add(word)
        parts.update(piece for piece in word.split("-") if piece)
    return parts


def _classify(known: Iterable[str]) -> tuple[set[str], set[str], set[str], set[str]]:
    hetus, phones, emails, names = set(), set(), set(), set()
    for raw in known:
        value = unicodedata.normalize("NFC", raw.strip())
        if not value:
            continue
        if HETU_PATTERN.fullmatch(value):
            hetus.add(value)
        elif "@" in value:
            emails.add(value)
        elif re.fullmatch(r"[+\d][\d \-().]{4,}", value):
            phones.add(value)
        else:
            names.add(value)
    return hetus, phones, emails, names


def _hetu_forms(hetu: str) -> re.Pattern[str]:
    """The hetu as given, and without its century sign (``131052308T``), case-insensitively."""
    forms = {re.escape(hetu), re.escape(hetu[:6] + hetu[7:])}
    return re.compile(r"(?<![0-9A-Za-z])(?:" + "|".join(forms) + r")(?![0-9A-Za-z])", re.IGNORECASE)


def _mask_known_phones(text: str, phones: set[str]) -> str:
    """Each known number wherever the text writes it, in any formatting.

    libphonenumber's matcher finds numbers in free text in the formats people and systems write
    (national with a trunk prefix, international with + or 00, grouped, bracketed): each number it
    finds is compared with the known ones as numbers, not as strings. It is not the safety net: it
    also finds digit runs in ids and OIDs, which is harmless here because only known numbers are
    replaced.
    """
    numbers = []
    for phone in phones:
        text = text.replace(phone, PHONE)
        try:
            numbers.append(phonenumbers.parse(phone, "FI"))
        except phonenumbers.NumberParseException:
            continue
    if not numbers:
        return text
    same = (phonenumbers.MatchType.EXACT_MATCH, phonenumbers.MatchType.NSN_MATCH)
    spans = [
        (match.start, match.end)
        for match in phonenumbers.PhoneNumberMatcher(text, "FI", leniency=phonenumbers.Leniency.POSSIBLE)
        if any(phonenumbers.is_number_match(match.number, number) in same for number in numbers)
    ]
    for start, end in reversed(spans):
        text = text[:start] + PHONE + text[end:]
    return text


def _names_pattern(names: set[str]) -> re.Pattern[str]:
    """One pattern for every name part: whole words, any case, with or without diacritics.

    Finnish inflects names, and a back-end writing Finnish quotes them inflected: a part of three
    letters or more may carry a case ending of up to four letters (Matti → Mattia, Mattille), and a
    ``-nen`` name its ``-s-`` stem (Virtanen → Virtasen, Virtaselle). Consonant gradation
    (Matti → Matin) is not followed: the exact part is still masked wherever it stands alone.
    """
    alternatives: set[str] = set()
    for name in names:
        for form in {name, _without_diacritics(name)}:
            escaped = re.escape(form)
            if len(form) >= 3:
                alternatives.add(escaped + r"\w{0,4}")
            else:
                alternatives.add(escaped)
            if len(form) >= 6 and form.lower().endswith("nen"):
                alternatives.add(re.escape(form[:-3]) + r"s\w{0,5}")
    ordered = sorted(alternatives, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)", re.IGNORECASE)


def _without_diacritics(text: str) -> str:
    """``Meikäläinen`` → ``Meikalainen``: how a system without Finnish letters may write it."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
