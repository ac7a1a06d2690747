"""Benchmark: one back-end answers 503 for a while under steady load; what does the gateway do to it?

    python -m bench.outage                      # Kanta down for 180 s, 10 outcomes/s
    python -m bench.outage --seconds 60 --rate 10 --workers 2 --database sqlite

Every part runs as its own process, as in production (``gateway api``, ``gateway simulator``,
``gateway worker``), with the workers' default retry and circuit settings. Outcomes going to
Kanta and Lifecare both (example 07) and to Lifecare alone (example 05) are posted at a steady
rate; after a short warm-up the chosen back-end's simulator answers every POST with 503 for the
given time, then recovers, and posting stops. Printed: the attempts made against the dead
back-end, how many deliveries ended held, how long the backlog took to drain after recovery, and
whether every delivery arrived exactly once. Numbers are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from adapters.registry import BACKENDS
from bench.outcomes import EXAMPLES, processes, wait_http
from tests.support.servers import free_port

WARM_UP_SECONDS = 5.0


def templates() -> list[dict[str, Any]]:
    return [json.loads(next(EXAMPLES.glob(f"{p}*.json")).read_text(encoding="utf-8")) for p in ("07", "05")]


async def post_steadily(base: str, token: str, rate: float, stop: asyncio.Event) -> int:
    """Post an outcome every 1/rate seconds until ``stop``; returns how many were accepted."""
    bodies = templates()
    accepted = 0
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        pending: set[asyncio.Task[httpx.Response]] = set()
        i = 0
        next_at = time.monotonic()
        while not stop.is_set():
            body = copy.deepcopy(bodies[i % len(bodies)])
            body["source"]["outcome_id"] = f"outage-{uuid.uuid4().hex[:12]}"
            task = asyncio.create_task(client.post("/v1/outcomes", json=body))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
            next_at += 1 / rate
            await asyncio.sleep(max(next_at - time.monotonic(), 0))
        for response in await asyncio.gather(*pending, return_exceptions=True):
            accepted += isinstance(response, httpx.Response) and response.status_code == 202
    return i


def scalar(sync_url: str, sql: str, **params: Any) -> int:
    engine = create_engine(sync_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one() or 0)
    finally:
        engine.dispose()


async def scenario(args: argparse.Namespace, base: str, token: str, sim: str, sync_url: str) -> dict[str, float]:
    stop = asyncio.Event()
    poster = asyncio.create_task(post_steadily(base, token, args.rate, stop))
    async with httpx.AsyncClient(base_url=sim, timeout=10) as simulator:
        await asyncio.sleep(WARM_UP_SECONDS)
        rule = await simulator.post("/_sim/faults", json={"method": "POST", "status": 503, "message": "down"})
        rule.raise_for_status()
        await asyncio.sleep(args.seconds)
        await simulator.delete("/_sim/faults")
        recovered = time.monotonic()
        stop.set()
        posted = await poster
        # drained: nothing of any back-end left queued or in flight
        open_sql = "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'in_flight')"
        while scalar(sync_url, open_sql) > 0:
            if time.monotonic() - recovered > args.drain_timeout:
                break
            await asyncio.sleep(0.2)
        drain = time.monotonic() - recovered
        documents = len((await simulator.get("/_sim/documents")).json()["documents"]) if args.backend == "kanta" else -1
    dead = {"backend": args.backend}
    return {
        "posted": posted,
        "attempts_503": scalar(
            sync_url,
            "SELECT count(*) FROM attempts JOIN deliveries ON deliveries.id = attempts.delivery_id"
            " WHERE deliveries.backend = :backend AND attempts.backend_status = '503'",
            **dead,
        ),
        "deliveries": scalar(sync_url, "SELECT count(*) FROM deliveries WHERE backend = :backend", **dead),
        "delivered": scalar(
            sync_url, "SELECT count(*) FROM deliveries WHERE backend = :backend AND status = 'delivered'", **dead
        ),
        "held": scalar(sync_url, "SELECT count(*) FROM deliveries WHERE status = 'held'"),
        "not_settled": scalar(sync_url, open_sql),
        "twice": scalar(
            sync_url,
            "SELECT count(*) FROM (SELECT delivery_id FROM attempts WHERE result = 'delivered'"
            " GROUP BY delivery_id HAVING count(*) > 1) AS repeated",
        ),
        "documents": documents,
        "drain_s": drain,
    }


def run(url: str, sync_url: str, args: argparse.Namespace, data_dir: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_SECRET_KEY": "bench",
        "GATEWAY_LOG_LEVEL": "WARNING",
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
    subprocess.run(
        [sys.executable, "-m", "gateway", "clients", "create", "--name", "bench", "--system", "asiakasohjaus-crm"],
        env=env,
        check=True,
        capture_output=True,
    )
    token = subprocess.run(
        [sys.executable, "-m", "gateway", "tokens", "create", "--scope", "outcomes:write", "--client", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = ([sys.executable, "-m", "gateway", "api", "--port", str(port)], env)
    workers = [([sys.executable, "-m", "gateway", "worker"], env) for _ in range(args.workers)]
    with processes(api, *sims):
        wait_http(f"{base}/health/live")
        for spec in BACKENDS:
            wait_http(f"http://127.0.0.1:{sim_ports[spec.name]}/_sim/requests")
        with processes(*workers):
            mount = next(spec.mount for spec in BACKENDS if spec.name == args.backend)
            sim = f"http://127.0.0.1:{sim_ports[args.backend]}{mount}"
            return asyncio.run(scenario(args, base, token, sim, sync_url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180, help="how long the back-end answers 503")
    parser.add_argument("--rate", type=float, default=10, help="outcomes posted per second")
    parser.add_argument("--backend", default="kanta", choices=[spec.name for spec in BACKENDS])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (they share the circuit)")
    parser.add_argument("--drain-timeout", type=float, default=900, help="give up waiting for the drain after this")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("GATEWAY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.database == "sqlite":
            path = Path(tmp) / "bench.db"
            r = run(f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}", args, Path(tmp))
        else:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{args.postgres_url}?options=-csearch_path%3D{schema}"
            try:
                r = run(url, url, args, Path(tmp))
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    print(
        f"\n{args.backend} answered 503 for {args.seconds:.0f} s under {args.rate:g} outcomes/s "
        f"({int(r['posted'])} posted), {args.workers} worker process(es), {args.database}"
    )
    print(f"attempts against the dead back-end (503s)   {int(r['attempts_503'])}")
    print(f"held after recovery                         {int(r['held'])}")
    print(f"time to drain after recovery                {r['drain_s']:.1f} s")
    print(f"{args.backend} deliveries delivered / queued       {int(r['delivered'])} / {int(r['deliveries'])}")
    print(f"not settled at the end                      {int(r['not_settled'])}")
    print(f"deliveries recorded delivered twice         {int(r['twice'])}")
    if r["documents"] >= 0:
        print(f"documents in the Kanta archive              {int(r['documents'])}")


if __name__ == "__main__":
    main()
