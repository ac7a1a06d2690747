"""The console's pure parts: how ages read, and the depth chart's geometry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.console.chart import HEIGHT, PAD, WIDTH, depth_chart
from gateway.console.depth import DepthSeries
from gateway.console.render import age

T = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "–"), (0, "0 s"), (59, "59 s"), (60, "1 min"), (3600, "1 h"), (3660 + 59, "1 h 1 min"), (90000, "1 d 1 h")],
)
def test_an_age_reads_in_the_largest_sensible_units(seconds: int | None, shown: str) -> None:
    assert age(seconds) == shown


def test_the_depth_line_spans_the_box_with_its_highest_point_at_the_top() -> None:
    chart = depth_chart(DepthSeries("kela", (T, T, T), (0, 4, 2)))

    assert chart is not None and (chart.highest, chart.latest) == (4, 2)
    assert chart.points.split() == [
        f"{PAD:.1f},{HEIGHT - PAD:.1f}",
        f"{WIDTH / 2:.1f},{PAD:.1f}",
        f"{WIDTH - PAD:.1f},{HEIGHT / 2:.1f}",
    ]


def test_no_chart_when_nothing_waited() -> None:
    assert depth_chart(DepthSeries("kela", (T, T), (0, 0))) is None
    assert depth_chart(None) is None
