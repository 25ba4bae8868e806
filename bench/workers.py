"""Throughput and latency of gunicorn worker models on a year of data (issue 9).

    .venv/bin/python bench/workers.py --db sqlite      # instance/bench-large.db
    .venv/bin/python bench/workers.py --db postgres    # $BENCH_POSTGRES_URL or h_bench_large
    .venv/bin/python bench/workers.py --db both --rounds 2

For each worker model (sync 2 and 4 workers, gthread 1 x 4 and 2 x 4 threads) a real gunicorn
is started on a free loopback port against the database (DATABASE_URL, `app:create_app()`),
waited for at /healthz, and signed into by --clients simulated users (one session each, its
cookies kept, roles in turn). Each client then requests its role's pages of a fixed mix in a
closed loop (next request when the last one is answered) for --warmup seconds untimed and
--duration seconds timed; requests/s, median and p95 latency are printed per model before
gunicorn is stopped (SIGTERM, graceful) and the next model starts. Only loopback traffic,
bounded in time. The database must already hold the year-scale demo (bench/pages.py loads it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

from common import (
    MODELS,
    Client,
    Server,
    add_database_args,
    cpu_ticks,
    databases,
    process_cpu,
)

ROLES = ("guard", "supervisor", "manager", "admin", "client")
LISTS = ("/incidents", "/inspections", "/check-ins", "/briefings", "/alarms")
#: The pages each role requests in turn: its home, then the lists it may open.
MIX = {
    "guard": ["/", "/check-ins", "/briefings", "/alarms"],
    "supervisor": ["/", *LISTS],
    "manager": ["/", *LISTS],
    "admin": ["/"],
    "client": ["/"],
}


@dataclass
class Result:
    database: str
    model: str
    round: int
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)
    errors: int
    client_cpu: float  # the load generator's CPU seconds in the timed window
    server_cpu: float  # gunicorn's (master and workers) CPU seconds in the timed window
    machine_busy: float  # share of all CPUs busy in the timed window (everything on the box)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def per_cpu(self) -> float:
        """Requests per CPU second of gunicorn: what the app costs, whatever else runs."""
        return self.requests / self.server_cpu if self.server_cpu else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies, n=20)[-1]


def drive(port: int, server: int, clients: int, warmup: float, duration: float) -> tuple:
    """Sign in, then run the closed loop.

    Returns (requests, latencies, errors, seconds, generator CPU, server CPU, machine busy).
    """
    users = []
    for i in range(clients):
        role = ROLES[i % len(ROLES)]
        client = Client(port)
        client.login(role)
        users.append((client, MIX[role], i))

    start = time.monotonic()
    window_start, window_end = start + warmup, start + warmup + duration
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]

    def loop(client: Client, paths: list[str], offset: int) -> None:
        n = offset
        mine, bad = [], 0
        while True:
            began = time.monotonic()
            if began >= window_end:
                break
            status, _ = client.request("GET", paths[n % len(paths)])
            ended = time.monotonic()
            n += 1
            if began >= window_start and ended <= window_end:
                if status == 200:
                    mine.append((ended - began) * 1000)
                else:
                    bad += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=loop, args=user) for user in users]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, window_start - time.monotonic()))
    cpu_before, ticks_before = time.process_time(), cpu_ticks()
    server_before = process_cpu(server)
    time.sleep(max(0.0, window_end - time.monotonic()))
    cpu_after, ticks_after = time.process_time(), cpu_ticks()
    server_cpu = process_cpu(server) - server_before
    for thread in threads:
        thread.join()
    busy = (ticks_after[0] - ticks_before[0]) / max(1, ticks_after[1] - ticks_before[1])
    return len(latencies), latencies, errors[0], duration, cpu_after - cpu_before, server_cpu, busy


def run_one(database: str, url: str, model: str, number: int, args) -> Result:
    with Server(url, model) as server:
        requests, latencies, errors, seconds, cpu, server_cpu, busy = drive(
            server.port, server.proc.pid, args.clients, args.warmup, args.duration
        )
    result = Result(
        database, model, number, requests, seconds, latencies, errors, cpu, server_cpu, busy
    )
    print(
        f"  {database:<10} {model:<12} round {number}: {result.rate:6.1f} req/s, "
        f"p50 {result.p50:6.1f} ms, p95 {result.p95:6.1f} ms, {errors} errors, "
        f"gunicorn {server_cpu / seconds:.2f} cores, {result.per_cpu:5.1f} req per CPU s, "
        f"generator {cpu / seconds:4.0%} of a core, machine {busy:4.0%} busy",
        file=sys.stderr,
        flush=True,
    )
    return result


def table(results: list[Result]) -> str:
    """One row per database and model: the median over rounds of each figure."""
    lines = [
        "| database | worker model | req/s | median ms | p95 ms | errors | gunicorn CPU "
        "| req per CPU s | generator CPU | machine busy |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    best: dict[str, float] = {}
    rows = []
    for database in dict.fromkeys(r.database for r in results):
        for model in MODELS:
            runs = [r for r in results if r.database == database and r.model == model]
            if not runs:
                continue
            rate = statistics.median(r.rate for r in runs)
            best[database] = max(best.get(database, 0.0), rate)
            rows.append((database, model, runs, rate))
    for database, model, runs, rate in rows:
        rates = "/".join(f"{r.rate:.0f}" for r in runs) if len(runs) > 1 else ""
        lines.append(
            f"| {database} | {model} | {rate:.1f}{f' ({rates})' if rates else ''} "
            f"({rate / best[database] - 1:+.0%}) "
            f"| {statistics.median(r.p50 for r in runs):.0f} "
            f"| {statistics.median(r.p95 for r in runs):.0f} "
            f"| {sum(r.errors for r in runs)} "
            f"| {statistics.median(r.server_cpu / r.seconds for r in runs):.2f} cores "
            f"| {statistics.median(r.per_cpu for r in runs):.1f} "
            f"| {statistics.median(r.client_cpu / r.seconds for r in runs):.0%} of a core "
            f"| {statistics.median(r.machine_busy for r in runs):.0%} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_args(parser)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--clients", type=int, default=10, help="concurrent signed-in users")
    parser.add_argument("--warmup", type=float, default=5.0, help="untimed seconds first")
    parser.add_argument("--duration", type=float, default=20.0, help="timed seconds per model")
    parser.add_argument("--rounds", type=int, default=1, help="every model this many times")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    results = []
    for number in range(1, args.rounds + 1):
        # Every other round in reverse, so a machine getting busier does not favour one model.
        order = args.models if number % 2 else args.models[::-1]
        for database, url in databases(args):
            for model in order:
                results.append(run_one(database, url, model, number, args))
    print(
        f"{args.clients} closed-loop clients (GET only, Connection: close), {args.warmup:g} s "
        f"warm-up then {args.duration:g} s timed per model, {args.rounds} round(s); "
        f"{os.cpu_count()} CPUs shared with the load generator and the database; load average "
        f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after. req/s is the median over "
        "rounds (each round's in brackets) and its difference from the best model.\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
