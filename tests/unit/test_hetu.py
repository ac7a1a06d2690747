"""The hetu check: format, century signs (incl. 2023), individual number, check character."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.contract.hetu import InvalidHetu, is_hetu, parse_hetu


@pytest.mark.parametrize(
    ("code", "born"),
    [("131052-308T", date(1952, 10, 13)), ("010594Y9032", date(1994, 5, 1)), ("020516C903K", date(2016, 5, 2))],
)
def test_the_design_examples_are_valid(code: str, born: date) -> None:
    assert parse_hetu(code).birth_date == born


@pytest.mark.parametrize("sign", list("-YXWVU"))
def test_every_1900s_century_sign_means_the_same_date(sign: str) -> None:
    assert parse_hetu(f"010594{sign}9032").birth_date == date(1994, 5, 1)


@pytest.mark.parametrize("sign", list("ABCDEF"))
def test_every_2000s_century_sign_means_the_same_date(sign: str) -> None:
    assert parse_hetu(f"020516{sign}903K").birth_date == date(2016, 5, 2)


def test_plus_sign_is_the_1800s() -> None:
    assert parse_hetu("010199+912D").birth_date == date(1899, 1, 1)


def test_is_hetu_answers_without_raising() -> None:
    assert is_hetu("131052-308T")
    assert not is_hetu("not a hetu")


def test_a_wrong_check_character_is_named() -> None:
    with pytest.raises(InvalidHetu, match="check character"):
        parse_hetu("131052-308U")


def test_an_impossible_date_is_named() -> None:
    with pytest.raises(InvalidHetu, match="calendar date"):
        parse_hetu("310252-308T")


def test_individual_numbers_000_and_001_are_not_in_use() -> None:
    with pytest.raises(InvalidHetu, match="000 and 001"):
        parse_hetu("131052-001X")


def test_an_unknown_century_sign_is_refused() -> None:
    with pytest.raises(InvalidHetu, match="century sign"):
        parse_hetu("131052G308T")


def test_temporary_numbers_are_valid_and_recognised() -> None:
    assert parse_hetu("020516C903K").is_temporary
    assert not parse_hetu("131052-308T").is_temporary


def test_lowercase_and_spaces_are_normalised() -> None:
    assert parse_hetu(" 010594y9032 ").code == "010594Y9032"


def test_errors_and_repr_never_contain_the_code() -> None:
    with pytest.raises(InvalidHetu) as caught:
        parse_hetu("131052-308U")
    assert "131052" not in str(caught.value)
    assert "131052" not in repr(parse_hetu("131052-308T"))
