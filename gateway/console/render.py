"""Pages from the package's templates: autoescaped Jinja2, a few filters for times and ages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, Undefined, select_autoescape

from gateway.console.session import ConsoleSession

HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "same-origin",
}


def age(seconds: float | int | None) -> str:
    """A duration as an operator reads it at a glance: '45 s', '12 min', '3 h 5 min', '2 d 4 h'."""
    if seconds is None or isinstance(seconds, Undefined):
        return "–"
    total = int(seconds)
    if total < 60:
        return f"{total} s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def when(value: datetime | str | None) -> str:
    """A moment in UTC to the second; the page says the zone once, in its footer."""
    if value is None or value == "" or isinstance(value, Undefined):
        return "–"
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    assert isinstance(moment, datetime)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def percent(value: float | None) -> str:
    return "–" if value is None or isinstance(value, Undefined) else f"{value * 100:.0f} %"


@lru_cache(maxsize=1)
def environment() -> Environment:
    # Cached per process, not module state that changes: the environment is built once and never written.
    env = Environment(
        loader=PackageLoader("gateway.console", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(age=age, when=when, pretty=pretty, percent=percent)
    return env


def page(
    request: Request, template: str, *, session: ConsoleSession | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    html = environment().get_template(template).render(request=request, session=session, **context)
    return HTMLResponse(
        html,
        status_code=status_code,
        # Pages can show personal data: never cached, never framed, scripts only from here.
        headers=HEADERS,
    )


def stale_page(request: Request, session: ConsoleSession, first: str) -> HTMLResponse:
    """A page link (cursor) this console did not make: refused, with the way back to the first page."""
    return page(
        request,
        "refused.html",
        session=session,
        status_code=400,
        heading="Page link not valid",
        message="That page link was not made by this console. Start again from the first page.",
        back=first,
    )
