"""Structured logging (structlog, JSON lines by default) with a last line of defence for privacy.

Nothing in the gateway logs a personal field on purpose: log calls name ids, codes and states.
The redaction processor is the safety net for what slips through (an exception message quoting a
hetu, a library's debug line): anything shaped like a hetu or a phone number (international or
Finnish national) is masked before it is written, by the patterns of :mod:`gateway.redaction`.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog

from gateway.redaction import mask_patterns


def redact_text(text: str) -> str:
    """Hetu- and phone-shaped text masked (the patterns alone: a log line knows no delivery's values)."""
    return mask_patterns(text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_processor(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        event_dict[key] = _redact(value)
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "json", stream: Any = None) -> None:
    """Route structlog and the standard library (uvicorn, alembic, httpx) through one renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_processor,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Capped whatever the level: signxml logs the canonicalised document it signs or verifies (a
    # client's name and hetu) at DEBUG, and the others are chatty or quote request bodies.
    for noisy in ("httpx", "httpcore", "zeep", "aiosqlite", "uvicorn.access", "signxml"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def failure(exc: BaseException) -> dict[str, Any]:
    """An exception for a log line: its type and where it happened, never its message.

    Messages of database and client errors quote the values they failed on (SQL parameters, a
    payload), and names cannot be masked by pattern; the frames alone say where to look.
    """
    frames = traceback.extract_tb(exc.__traceback__)[-5:]
    return {"error_type": type(exc).__name__, "at": [f"{f.filename}:{f.lineno} in {f.name}" for f in frames]}


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
