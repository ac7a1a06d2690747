"""Benchmark: what signing (and the archive's verifying) adds to one Kanta document.

    python -m bench.kanta_sign               # 200 documents of each kind
    python -m bench.kanta_sign --count 1000

Every document kind the planner makes of the shipped examples is rendered once, then signed and
verified ``--count`` times with a development identity generated into a temporary folder. Printed:
milliseconds per document (median and 95th percentile) for rendering, signing (including the
re-serialisation) and verifying. Numbers are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.kanta import signing, validation
from adapters.kanta.adapter import render_work
from adapters.kanta.render import sign_rendered
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import load_mappings
from gateway.outbox.adapter import DeliveryWork
from gateway.plan.rules import plan_outcome

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    mappings = load_mappings(ROOT / "mappings" / "default")
    payloads: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "examples" / "outcomes").glob("*.json")):
        outcome = OutcomeV1.model_validate(json.loads(path.read_text(encoding="utf-8")))
        for action in plan_outcome(outcome, mappings).actions:
            if action.backend == "kanta":
                payloads.setdefault(action.payload["document"], action.payload)
    with tempfile.TemporaryDirectory() as folder:
        identity = signing.development_identity(Path(folder))
        print(f"{'document':24} {'render ms':>10} {'sign ms':>16} {'verify ms':>16}")
        for kind, payload in sorted(payloads.items()):
            work = DeliveryWork(
                delivery_id=str(uuid.uuid4()),
                outcome_id=None,
                action_key=f"kanta:{kind}",
                kind="social_care_document",
                payload=payload,
                attempt=1,
            )
            render, sign, verify = [], [], []
            for _ in range(args.count):
                start = time.perf_counter()
                rendered = render_work(work, mappings)
                render.append(time.perf_counter() - start)
                start = time.perf_counter()
                signed = sign_rendered(rendered, identity, signed_at=datetime.now(UTC))
                sign.append(time.perf_counter() - start)
                received = validation.parse_xml(signed.document_bytes)
                start = time.perf_counter()
                signing.verify_document(received, [identity.cert_pem])
                verify.append(time.perf_counter() - start)
            print(f"{kind:24} {_ms(render):>10} {_ms(sign):>16} {_ms(verify):>16}")


def _ms(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"{statistics.median(ordered) * 1000:.1f} (p95 {p95 * 1000:.1f})"


if __name__ == "__main__":
    main()
