"""The body reader's limits, exactly at their edges: depth, number length, unstorable text."""

from __future__ import annotations

import pytest

from gateway.bodies import MAX_DEPTH, MAX_NUMBER_DIGITS, parse_json
from gateway.problems import Problem


def refusal(raw: str) -> Problem:
    with pytest.raises(Problem) as refused:
        parse_json(raw.encode())
    return refused.value


def test_a_document_exactly_as_deep_as_the_limit_is_read() -> None:
    assert parse_json(("[" * MAX_DEPTH + "]" * MAX_DEPTH).encode()) == _nested(MAX_DEPTH)


def test_one_level_deeper_is_refused() -> None:
    problem = refusal("{" + '"a": [' * MAX_DEPTH + "]" * MAX_DEPTH + "}")
    assert problem.status == 422 and problem.errors[0]["code"] == "too_deep"


def test_brackets_inside_strings_do_not_count_towards_the_depth() -> None:
    text = '["' + "[" * 100 + '\\"' + "{" * 100 + '"]'
    assert parse_json(text.encode()) == ["[" * 100 + '"' + "{" * 100]


def test_a_string_left_open_is_malformed_json_whatever_follows_it() -> None:
    assert refusal('["' + "[" * 100).status == 400


def test_an_integer_of_as_many_digits_as_the_limit_is_read() -> None:
    assert parse_json(f'{{"n": -{"9" * MAX_NUMBER_DIGITS}}}'.encode()) == {"n": -int("9" * MAX_NUMBER_DIGITS)}


@pytest.mark.parametrize("literal", ["1" * (MAX_NUMBER_DIGITS + 1), "0." + "1" * MAX_NUMBER_DIGITS, "1" * 5000])
def test_a_number_with_more_digits_is_refused_naming_its_place(literal: str) -> None:
    problem = refusal(f'{{"a": [0, {literal}]}}')
    assert problem.status == 422
    assert problem.errors == [
        {"field": "a[1]", "code": "number_too_long", "message": f"the number has more than {MAX_NUMBER_DIGITS} digits"}
    ]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_constants_that_are_not_json_are_malformed_json(constant: str) -> None:
    assert refusal(f'{{"n": {constant}}}').status == 400


@pytest.mark.parametrize("escaped", ["\\u0000", "\\udfff"])
def test_unstorable_text_anywhere_is_refused_naming_its_place_and_not_its_value(escaped: str) -> None:
    problem = refusal(f'{{"a": {{"b": ["ok", "Matti{escaped}"]}}}}')
    assert problem.status == 422 and [e["field"] for e in problem.errors] == ["a.b[1]"]
    assert "Matti" not in str(problem.body())


def test_a_surrogate_pair_is_text_and_is_read() -> None:
    assert parse_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value
