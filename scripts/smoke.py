"""Smoke check of the front door: a plain install serves, and delivers every shipped example.

    python3 -m venv .venv-run && .venv-run/bin/pip install -e .     # the README's run install
    python3 scripts/smoke.py --venv .venv-run

It starts ``<venv>/bin/gateway serve`` on a free port with a fresh data folder, reads the access
token from the banner, waits for ``/health/ready``, posts every example of ``examples/outcomes``
dated today (``gateway.examples.move_dates``, as ``gateway examples post`` does), and fails unless
each is accepted (202) and each of its deliveries ends ``delivered`` within ``--timeout`` seconds.
Outcomes that are statistics only have no deliveries and pass as they are. The server is stopped
at the end, also on failure.

Only the standard library, httpx and the gateway itself are used: the run install has no test
extras. Started by another Python, it runs itself again with the venv's.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.2
STOP_SECONDS = 30
START_ATTEMPTS = 3  # a free port can be taken between choosing it and the server binding it


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(".venv"), help="the venv to run (default: .venv)")
    parser.add_argument(
        "--examples", type=Path, default=REPOSITORY / "examples" / "outcomes", help="a folder of example outcomes"
    )
    parser.add_argument("--timeout", type=float, default=120, help="seconds for the whole check (default: 120)")
    args = parser.parse_args()
    venv = args.venv.absolute()
    python = venv / "bin" / "python"
    if not (venv / "bin" / "gateway").exists():
        print(
            f"smoke: no gateway in {venv}; install it first: python3 -m venv {args.venv} && "
            f"{args.venv}/bin/pip install -e .",
            file=sys.stderr,
        )
        return 2
    if Path(sys.prefix).resolve() != venv.resolve():
        os.execv(python, [str(python), __file__, *sys.argv[1:]])  # noqa: S606 - our own script, in the venv asked for
    # A CI runner cancelling the job sends SIGTERM: end through ``finally`` so that the server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    return run(venv, args.examples, args.timeout)


def run(venv: Path, examples: Path, timeout: float) -> int:
    started = time.monotonic()
    deadline = started + timeout
    with (
        tempfile.TemporaryDirectory(prefix="gateway-smoke-") as scratch,
        serving(venv, Path(scratch), deadline) as server,
    ):
        try:
            report = check_examples(server, examples, deadline)
        except Exception as error:  # the examples could not be read or the server stopped answering
            report = Report(failures=[f"{type(error).__name__}: {error}"])
        log = server.log_tail() if report.failures else []
    if server.stop_problem:
        report.failures.append(server.stop_problem)
    took = time.monotonic() - started
    for problem in report.failures:
        print(f"smoke: FAILED {problem}", file=sys.stderr)
    if log:
        print("smoke: the server's log ends with:", *log, sep="\n    ", file=sys.stderr)
    verdict = "FAILED" if report.failures else "ok"
    print(
        f"smoke: {verdict}: {report.accepted} of {report.examples} examples accepted, "
        f"{report.delivered} deliveries delivered, {report.statistics_only} statistics only, "
        f"in {took:.1f} s ({venv.name}/bin/gateway serve on port {server.port})"
    )
    return 1 if report.failures else 0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    token: str
    log: Path
    stop_problem: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> list[str]:
        """The end of the server's log (the gateway logs nothing personal), to see why."""
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self.stop_problem = f"the server did not stop within {STOP_SECONDS} s of SIGINT and was killed"
            return
        if code != 0:
            self.stop_problem = f"the server exited with {code} when stopped"


@contextmanager
def serving(venv: Path, scratch: Path, deadline: float) -> Iterator[Server]:
    """``gateway serve`` on a free port, running until the block ends however it ends."""
    server = None
    for attempt in range(1, START_ATTEMPTS + 1):
        server = start(venv, scratch / f"attempt-{attempt}", deadline)
        if isinstance(server, Server):
            break
        if "address already in use" not in server.lower() or attempt == START_ATTEMPTS:
            raise SystemExit(f"smoke: FAILED gateway serve did not start: {server}")
    assert isinstance(server, Server)
    try:
        yield server
    finally:
        server.stop()


def start(venv: Path, folder: Path, deadline: float) -> Server | str:
    """A started server that answers ready, or why not (the server's own words)."""
    import httpx

    folder.mkdir(parents=True)
    port = free_port()
    banner, log = folder / "banner.txt", folder / "server.log"
    # A clean environment: a developer's GATEWAY_* settings must not point the check elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    with banner.open("wb") as out, log.open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - the venv's own gateway command
            [str(venv / "bin" / "gateway"), "serve", "--port", str(port), "--data-dir", str(folder / "data")],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=REPOSITORY,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
    token = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with {process.returncode}: " + " | ".join(log.read_text(errors="replace").splitlines()[-5:])
        token = token or next(
            (
                line.strip()
                for line in banner.read_text(errors="replace").splitlines()
                if line.strip().startswith("gwt_")
            ),
            "",
        )
        if token:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                    return Server(process, port, token, log)
            except httpx.TransportError:
                pass
        time.sleep(POLL_SECONDS)
    server = Server(process, port, token, log)
    server.stop()
    return "not ready in time" + ("" if token else " (no access token printed)")


def die_with_parent() -> None:
    """Linux: the server gets SIGTERM if this script dies without stopping it (killed, not interrupted)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Report:
    examples: int = 0
    accepted: int = 0
    delivered: int = 0
    statistics_only: int = 0
    failures: list[str] = field(default_factory=list)


def check_examples(server: Server, folder: Path, deadline: float) -> Report:
    import httpx

    from gateway.examples import example_files, move_dates, read_example, settle

    files = example_files(folder)
    report = Report(examples=len(files))
    now = datetime.now(UTC)
    suffix = f"smoke{secrets.token_hex(3)}"
    posted: list[tuple[str, str]] = []
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=30) as api:
        for file in files:
            response = api.post("/v1/outcomes", json=move_dates(read_example(file), now=now, suffix=suffix))
            if response.status_code != 202:
                report.failures.append(f"{file.name}: not accepted: {refusal(response)}")
                continue
            report.accepted += 1
            answer: dict[str, Any] = response.json()
            if answer["statistics_only"]:
                report.statistics_only += 1
            posted.append((file.name, answer["id"]))
        for name, outcome_id in posted:
            settled = settle(api, outcome_id, deadline=deadline, poll_seconds=POLL_SECONDS)
            deliveries = settled.status["deliveries"]
            report.delivered += len(deliveries) - len(settled.undelivered)
            for delivery in settled.undelivered:
                state = "still " + delivery["status"] if settled.timed_out else "ended " + delivery["status"]
                reason = (
                    delivery.get("last_error") or delivery.get("status_reason") or f"{delivery['attempts']} attempt(s)"
                )
                report.failures.append(
                    f"{name}: delivery {delivery['action_key']} to {delivery['backend']} {state}: {reason}"
                    + (" (time is up)" if settled.timed_out else "")
                )
    return report


def refusal(response: Any) -> str:
    try:
        problem = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"
    fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in problem.get("errors", []))
    return f"{response.status_code} {problem.get('title', '')}" + (f" ({fields})" if fields else "")


if __name__ == "__main__":
    sys.exit(main())
