"""Due dates in Finnish working days, end to end: posted through the API, read back from the open list.

Each test names a contact moment and the due dates the law gives it. The service promise answers
by the next working day; THL 51 § (since 1.9.2023) wants the need assessed the same working day;
SHL 36 § (priority group) and LSL 26 § give seven working days, LSL 26 § 3 mom. three months.
Midsummer Eve and Christmas Eve count as holidays; the contact day is the Finnish calendar day.
"""

from __future__ import annotations

from typing import Any

from tests.support.deadlines import dated, due_by_rule, priority
from tests.support.harness import Harness


async def _post(gw: Harness, body: dict[str, Any]) -> str:
    response = await gw.post(body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_a_hand_over_on_midsummer_eve_is_due_the_monday_after_midsummer(gw: Harness) -> None:
    outcome = await _post(gw, priority(dated("07", "2025-06-20T10:00:00+03:00")))  # Fri, juhannusaatto
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2025-06-23",
        "thl-51-hta-same-day": "2025-06-23",
        "shl-36-needs-assessment": "2025-07-01",
    }


async def test_a_hand_over_on_christmas_eve_is_due_after_the_christmas_holidays(gw: Harness) -> None:
    outcome = await _post(gw, priority(dated("07", "2025-12-24T09:00:00+02:00")))  # Wed, jouluaatto
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2025-12-29",
        "thl-51-hta-same-day": "2025-12-29",
        # 29., 30., 31.12., 2.1., 5.1., (loppiainen 6.1.), 7.1., 8.1.
        "shl-36-needs-assessment": "2026-01-08",
    }


async def test_a_child_welfare_notice_on_christmas_eve_runs_its_seven_days_and_three_months_from_it(
    gw: Harness,
) -> None:
    outcome = await _post(gw, dated("08", "2025-12-24T09:00:00+02:00"))
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2025-12-29",
        "lsl-26-decision": "2026-01-08",
        "lsl-26-assessment": "2026-03-24",
    }


async def test_a_hand_over_on_new_years_eve_is_due_that_day_and_promised_after_new_years_day(gw: Harness) -> None:
    outcome = await _post(gw, dated("05", "2025-12-31T14:00:00+02:00"))  # Wed, a working day
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2026-01-02",
        "thl-51-hta-same-day": "2025-12-31",
    }


async def test_a_hand_over_on_new_years_day_is_due_the_next_working_day(gw: Harness) -> None:
    outcome = await _post(gw, dated("05", "2026-01-01T11:00:00+02:00"))  # Thu, uudenvuodenpäivä
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2026-01-02",
        "thl-51-hta-same-day": "2026-01-02",
    }


async def test_a_child_welfare_notice_on_new_years_day_skips_epiphany(gw: Harness) -> None:
    outcome = await _post(gw, dated("08", "2026-01-01T11:00:00+02:00"))
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2026-01-02",
        # 2.1., 5.1., (loppiainen 6.1.), 7.1., 8.1., 9.1., 12.1., 13.1.
        "lsl-26-decision": "2026-01-13",
        "lsl-26-assessment": "2026-04-01",
    }


async def test_a_hand_over_on_good_friday_is_due_the_tuesday_after_easter_monday(gw: Harness) -> None:
    outcome = await _post(gw, priority(dated("07", "2025-04-18T10:00:00+03:00")))
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2025-04-22",
        "thl-51-hta-same-day": "2025-04-22",
        # 22., 23., 24., 25., 28., 29., 30.4. (vappu 1.5. is not reached)
        "shl-36-needs-assessment": "2025-04-30",
    }


async def test_a_hand_over_on_maundy_thursday_is_due_that_day_and_promised_after_easter(gw: Harness) -> None:
    outcome = await _post(gw, dated("05", "2025-04-17T15:00:00+03:00"))
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2025-04-22",
        "thl-51-hta-same-day": "2025-04-17",
    }


async def test_a_hand_over_late_on_a_friday_is_due_that_friday_and_promised_on_monday(gw: Harness) -> None:
    outcome = await _post(gw, dated("05", "2025-11-14T23:30:00+02:00"))
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2025-11-17",
        "thl-51-hta-same-day": "2025-11-14",
    }


async def test_a_contact_at_22_30_utc_on_thursday_is_a_friday_contact_in_finland(gw: Harness) -> None:
    outcome = await _post(gw, priority(dated("07", "2025-11-13T22:30:00+00:00")))  # 00:30 Fri in Helsinki
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2025-11-17",
        "thl-51-hta-same-day": "2025-11-14",
        # 17., 18., 19., 20., 21., 24., 25.11.
        "shl-36-needs-assessment": "2025-11-25",
    }


async def test_a_contact_at_22_30_utc_on_friday_is_a_saturday_contact_due_on_monday(gw: Harness) -> None:
    outcome = await _post(gw, dated("05", "2025-11-14T22:30:00+00:00"))  # 00:30 Sat in Helsinki
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2025-11-17",
        "thl-51-hta-same-day": "2025-11-17",
    }


async def test_a_contact_just_before_finnish_midnight_in_summer_time_stays_on_its_day(gw: Harness) -> None:
    outcome = await _post(gw, dated("05", "2025-06-10T20:59:00+00:00"))  # Tue 23:59 EEST
    assert await due_by_rule(gw.api, outcome) == {
        "service-promise": "2025-06-11",
        "thl-51-hta-same-day": "2025-06-10",
    }
