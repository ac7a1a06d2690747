"""Horizontal bar charts' geometry, drawn as inline SVG by the console's statistics page: no script, no library. Pure.

A suppressed figure gets no bar (a bar's length would tell roughly how small it is), only the mark
``..`` where the bar would start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.statistics.layout import SUPPRESSED_MARK

WIDTH, PAD, ROW, BAR = 320, 4, 30, 12
VALUE_SPACE = 40  # room right of the longest bar for its figure


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    text: str  # the figure, or the suppression mark
    label_y: float
    y: float
    length: float
    suppressed: bool

    @property
    def text_x(self) -> float:
        return PAD + self.length + 4


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    height: int
    width: int = WIDTH
    pad: int = PAD
    bar_height: int = BAR

    @property
    def description(self) -> str:
        return f"{self.title}: " + ", ".join(f"{bar.label} {bar.text}" for bar in self.bars)


def bar_chart(title: str, items: Sequence[tuple[str, int | None]]) -> BarChart | None:
    """Bars of ``(label, count)`` (None: suppressed), in the given order; None when there is nothing to draw."""
    if not items:
        return None
    top = max((count for _, count in items if count), default=0)
    span = WIDTH - 2 * PAD - VALUE_SPACE
    bars = tuple(
        Bar(
            label=label,
            text=SUPPRESSED_MARK if count is None else str(count),
            label_y=i * ROW + 11,
            y=i * ROW + 14,
            length=0.0 if count is None or top == 0 else round(span * count / top, 1),
            suppressed=count is None,
        )
        for i, (label, count) in enumerate(items)
    )
    return BarChart(title, bars, len(items) * ROW + PAD)
