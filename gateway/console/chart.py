"""A small line chart's geometry, drawn as inline SVG by the overview template: no script, no library. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.console.depth import DepthSeries

WIDTH, HEIGHT, PAD = 320, 90, 4


@dataclass(frozen=True, slots=True)
class Chart:
    points: str  # the polyline's "x,y x,y ..." in a WIDTH x HEIGHT view box
    highest: int
    latest: int
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def depth_chart(series: DepthSeries | None) -> Chart | None:
    """The depth line of one back-end, or None when nothing waited in the whole window."""
    depths = series.depths if series else ()
    if not depths or not any(depths):
        return None
    top = max(depths)
    step = (WIDTH - 2 * PAD) / max(len(depths) - 1, 1)
    points = " ".join(
        f"{PAD + i * step:.1f},{HEIGHT - PAD - (d / top) * (HEIGHT - 2 * PAD):.1f}" for i, d in enumerate(depths)
    )
    return Chart(points, top, depths[-1])
