"""Benchmark: the cost of claiming work from a large backlog.

    python -m bench.claims --backlog 20000 --batch 8 --database both

Fills the outbox with N due deliveries (written as the intake writes them, without the HTTP
layer), then claims batches the way a worker does and completes each claimed delivery at once,
until the backlog is empty. Prints claims per second and the latency of one claim query at the
start (full backlog) and at the end. Nothing is sent to a back-end: this measures the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from gateway.consents.service import refusal_for_delivery
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.fingerprints import Fingerprinter
from gateway.mappings import load_mappings
from gateway.outbox.adapter import DeliveryResult
from gateway.outbox.corrections import diff
from gateway.outbox.worker import Worker
from gateway.outcomes.service import store_accepted
from gateway.plan.rules import plan_outcome
from gateway.settings import WorkerSettings
from gateway.store.engine import create_engine, sync_url
from gateway.store.migrate import upgrade
from tests.support.harness import example


async def fill(url: str, backlog: int) -> None:
    mappings = load_mappings()
    fingerprints = Fingerprinter(b"bench")
    engine = create_engine(url)
    body = example("05")
    now = datetime.now(UTC)
    for start in range(0, backlog, 500):
        async with engine.begin() as conn:
            for i in range(start, min(start + 500, backlog)):
                body["source"]["outcome_id"] = f"claims-{i}"
                outcome = OutcomeV1.model_validate(body)
                plan = plan_outcome(outcome, mappings)
                await store_accepted(
                    conn,
                    outcome_id=str(uuid.uuid4()),
                    outcome=outcome,
                    plan=plan,
                    fingerprint="f" * 64,
                    response={},
                    now=now,
                    enabled_backends={"lifecare"},
                    fingerprints=fingerprints,
                    steps=diff(plan.actions, {}, {}),
                )
    await engine.dispose()


async def drain(url: str, batch: int) -> tuple[int, float, list[float]]:
    engine = create_engine(url)
    worker = Worker(
        engine=engine,
        adapters={},
        mappings=load_mappings,
        settings=WorkerSettings(),
        consent_check=refusal_for_delivery,
    )
    latencies: list[float] = []
    claimed_total = 0
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        claimed = await worker.claim("lifecare", batch)
        latencies.append(time.perf_counter() - t0)
        if not claimed:
            break
        for item in claimed:
            await worker.results.succeeded("lifecare", item.work, DeliveryResult({}, "200"), datetime.now(UTC), 0.0)
        claimed_total += len(claimed)
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return claimed_total, elapsed, latencies


def run(url: str, args: argparse.Namespace) -> dict[str, float]:
    upgrade(url)
    asyncio.run(fill(url, args.backlog))
    total, elapsed, latencies = asyncio.run(drain(url, args.batch))
    head, tail = latencies[: max(1, len(latencies) // 10)], latencies[-max(1, len(latencies) // 10) :]
    return {
        "claimed": total,
        "per_s": total / elapsed,
        "first_ms": statistics.median(head) * 1000,
        "last_ms": statistics.median(tail) * 1000,
        "p99_ms": sorted(latencies)[int(0.99 * (len(latencies) - 1))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("GATEWAY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.database in ("sqlite", "both"):
            results["sqlite"] = run(f"sqlite+aiosqlite:///{Path(tmp) / 'claims.db'}", args)
        if args.database in ("postgresql", "both"):
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_sync_engine(sync_url(args.postgres_url))
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                results["postgresql"] = run(f"{args.postgres_url}?options=-csearch_path%3D{schema}", args)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    print(f"\nclaiming a backlog of {args.backlog} due deliveries in batches of {args.batch}, completing each")
    print(
        f"{'database':<11}{'claimed':>9}{'deliveries/s':>14}{'claim ms (full)':>17}{'claim ms (end)':>16}{'p99 ms':>9}"
    )
    for name, r in results.items():
        print(
            f"{name:<11}{int(r['claimed']):>9}{r['per_s']:>14.1f}{r['first_ms']:>17.2f}{r['last_ms']:>16.2f}"
            f"{r['p99_ms']:>9.2f}"
        )


if __name__ == "__main__":
    main()
