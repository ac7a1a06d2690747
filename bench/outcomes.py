"""Benchmark: outcomes accepted per second, latency percentiles, and delivered outcomes per second.

    python -m bench.outcomes --n 2000 --concurrency 32 --database sqlite
    python -m bench.outcomes --database postgresql --postgres-url postgresql+psycopg://postgres@127.0.0.1/test

Every part runs as its own process, as in production: the API (``gateway api``), the simulated
back-ends (``gateway simulator``) and the workers (``gateway worker``). The load generator posts
N outcomes with C concurrent clients while no worker runs (intake only), then starts the workers
and times how long they take to deliver the whole backlog (end to end, including claiming from a
backlog of N). Numbers are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from adapters.registry import BACKENDS
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "outcomes"
# anonymous, advice only, initiation (Kanta), hand-over (Lifecare), direct booking, both registers
MIX = ("01", "02", "03", "05", "06", "07")
DELIVERING = ("03", "05", "06", "07")


def bodies(n: int) -> list[dict[str, Any]]:
    templates = [json.loads(next(EXAMPLES.glob(f"{p}*.json")).read_text(encoding="utf-8")) for p in MIX]
    out = []
    for i in range(n):
        body = json.loads(json.dumps(templates[i % len(templates)]))
        body["source"]["outcome_id"] = f"bench-{i}"
        out.append(body)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@contextmanager
def processes(*commands: tuple[list[str], dict[str, str]]) -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for cmd, env in commands
    ]
    try:
        yield started
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=30)


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def post_all(base: str, token: str, items: list[dict[str, Any]], concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=60
    ) as client:

        async def one_client() -> None:
            nonlocal failures
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post("/v1/outcomes", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    failures += 1

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return latencies, failures


def pending(sync_url: str) -> int:
    engine = create_engine(sync_url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM deliveries WHERE status <> 'delivered'")).scalar_one()
    engine.dispose()
    return int(count)


def run(database: str, url: str, sync_url: str, args: argparse.Namespace, data_dir: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_SECRET_KEY": "bench",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_WORKER__CONCURRENCY": str(args.worker_concurrency),
    }
    sim_ports = {}
    sims = []
    for spec in BACKENDS:
        sim_ports[spec.name] = free_port()
        sims.append(
            ([sys.executable, "-m", "gateway", "simulator", spec.name, "--port", str(sim_ports[spec.name])], env)
        )
        env[spec.setting_name] = f"http://127.0.0.1:{sim_ports[spec.name]}{spec.mount}{spec.endpoint_suffix}"
    subprocess.run([sys.executable, "-m", "gateway", "db", "upgrade"], env=env, check=True, capture_output=True)
    token = subprocess.run(
        [sys.executable, "-m", "gateway", "tokens", "create", "--scope", "outcomes:write"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    api = ([sys.executable, "-m", "gateway", "api", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    items = bodies(args.n)
    with processes(api, *sims):
        wait_http(f"{base}/health/live")
        for spec in BACKENDS:
            wait_http(f"http://127.0.0.1:{sim_ports[spec.name]}/_sim/requests")
        started = time.perf_counter()
        latencies, failures = asyncio.run(post_all(base, token, items, args.concurrency))
        intake = time.perf_counter() - started
        backlog = pending(sync_url)
        workers = [([sys.executable, "-m", "gateway", "worker"], env) for _ in range(args.workers)]
        started = time.perf_counter()
        with processes(*workers):
            while pending(sync_url) > 0:
                time.sleep(0.05)
            drain = time.perf_counter() - started
    delivered_outcomes = sum(1 for i in range(args.n) if MIX[i % len(MIX)] in DELIVERING)
    return {
        "outcomes": args.n,
        "failures": failures,
        "accepted_per_s": args.n / intake,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "backlog": backlog,
        "delivered_per_s": delivered_outcomes / drain,
        "drain_s": drain,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="outcomes to post")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent posting clients")
    parser.add_argument("--workers", type=int, default=1, help="worker processes while draining")
    parser.add_argument("--worker-concurrency", type=int, default=8, help="deliveries in flight per worker")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("GATEWAY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.database in ("sqlite", "both"):
            path = Path(tmp) / "bench.db"
            results["sqlite"] = run("sqlite", f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}", args, Path(tmp))
        if args.database in ("postgresql", "both"):
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin_url = args.postgres_url.replace("+asyncpg", "+psycopg")
            admin = create_engine(admin_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{args.postgres_url}?options=-csearch_path%3D{schema}"
            try:
                results["postgresql"] = run("postgresql", url, url, args, Path(tmp))
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    print(
        f"\n{args.n} outcomes ({', '.join(MIX)} mixed), {args.concurrency} concurrent clients, "
        f"{args.workers} worker process(es) x {args.worker_concurrency} in flight, {os.cpu_count()} cores"
    )
    header = (
        f"{'database':<11}{'accepted/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'backlog':>9}"
        f"{'delivered/s':>13}{'drain s':>9}{'errors':>8}"
    )
    print(header)
    for name, r in results.items():
        print(
            f"{name:<11}{r['accepted_per_s']:>11.1f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{int(r['backlog']):>9}{r['delivered_per_s']:>13.1f}{r['drain_s']:>9.1f}{int(r['failures']):>8}"
        )


if __name__ == "__main__":
    main()
