"""Keyed fingerprints of bodies and payloads: equality checks without keeping (or leaking) the content.

A plain hash of a body that holds a hetu could be reversed by trying every hetu; an HMAC under
the gateway's secret cannot. The secret comes from settings or is generated once into the data
directory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


class Fingerprinter:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def of(self, value: Any) -> str:
        return hmac.new(self._secret, canonical_json(value), hashlib.sha256).hexdigest()


def load_or_create_secret(data_dir: Path, configured: str | None) -> bytes:
    if configured:
        return configured.encode()
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
