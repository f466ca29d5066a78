"""Service speed in one run on this machine: the feed, plan reads and POST .../plan next to a bare
handler, and the feed while plan reads run beside it.

Starts uvicorn twice with the same settings (one worker, httptools default): once with the app
on a fresh SQLite file seeded by `planner demo`, once with a bare Litestar handler. Load comes
from an asyncio httpx client with keep-alive in this process, so client and server share the
2 cores: read the ratios, not the absolute numbers.

Run: .venv/bin/python bench/api_bench.py [--seconds 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            *args,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


async def hammer(
    url: str, headers: dict[str, str], seconds: float, concurrency: int
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    statuses: set[int] = set()
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            response = await client.get(url, headers=headers)
            latencies.append((time.perf_counter() - began) * 1000)
            statuses.add(response.status_code)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    (status,) = statuses if len(statuses) == 1 else (sorted(statuses),)  # type: ignore[assignment]
    return len(latencies) / elapsed, latencies, status  # type: ignore[return-value]


async def mixed(
    first: tuple[str, dict[str, str]],
    second: tuple[str, dict[str, str]],
    seconds: float,
    concurrency: int,
) -> tuple[tuple[float, list[float], int], tuple[float, list[float], int]]:
    """Both loads at once, each with the full number of connections."""
    one, two = await asyncio.gather(
        hammer(first[0], first[1], seconds, concurrency),
        hammer(second[0], second[1], seconds, concurrency),
    )
    return one, two


def this_week() -> str:
    """Today's date in the demo athlete's zone is near enough: the filter's cost is the point."""
    return time.strftime("%Y-%m-%d")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, rps: float, lat: list[float], status: object, base: float | None) -> str:
    ratio = f"{rps / base:6.2f}x bare" if base else ""
    return (
        f"{name:<34} {rps:8.0f} req/s  p50 {statistics.median(lat):6.2f} ms  "
        f"p99 {pct(lat, 0.99):7.2f} ms  [{status}] {ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--plans", type=int, default=40)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="planner-bench-")
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db"}
    subprocess.run(
        [str(BIN / "planner"), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    demo = subprocess.run(
        [str(BIN / "planner"), "demo"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    key = re.search(r"Coach key: (\S+)", demo).group(1)  # type: ignore[union-attr]
    feed_path = re.search(r"(/feeds/\S+\.ics)", demo).group(1)  # type: ignore[union-attr]
    athlete_path = re.search(r"(/api/v1/athletes/[0-9a-f-]+)/plan", demo).group(1)  # type: ignore[union-attr]

    bare_port, app_port = free_port(), free_port()
    bare = start(["--app-dir", "bench", "bare_app:app"], env, bare_port)
    app = start(["--factory", "api.app:create_app"], env, app_port)
    try:
        base = f"http://127.0.0.1:{app_port}"
        first = httpx.get(base + feed_path)
        etag = first.headers["etag"]
        print(
            f"feed: {len(first.content)} bytes, {first.text.count('BEGIN:VEVENT')} events; "
            f"{args.concurrency} connections, {args.seconds:.0f} s each"
        )
        rps_bare, lat_bare, st = asyncio.run(
            hammer(f"http://127.0.0.1:{bare_port}/bare", {}, args.seconds, args.concurrency)
        )
        print(line("bare Litestar handler", rps_bare, lat_bare, st, None))
        rps_feed, lat, st = asyncio.run(
            hammer(base + feed_path, {}, args.seconds, args.concurrency)
        )
        print(line("GET /feeds/{token}.ics", rps_feed, lat, st, rps_bare))
        rps, lat, st = asyncio.run(
            hammer(base + feed_path, {"If-None-Match": etag}, args.seconds, args.concurrency)
        )
        print(line("GET /feeds/{token}.ics (304)", rps, lat, st, rps_bare))
        headers = {"Authorization": f"Bearer {key}"}
        rps_plan, lat, st = asyncio.run(
            hammer(base + athlete_path + "/plan", headers, args.seconds, args.concurrency)
        )
        print(line("GET .../plan", rps_plan, lat, st, rps_bare))
        rps_week, lat, st = asyncio.run(
            hammer(
                base + athlete_path + "/plan?from=" + this_week(),
                headers,
                args.seconds,
                args.concurrency,
            )
        )
        print(line("GET .../plan?from= (one week on)", rps_week, lat, st, rps_bare))
        feed_mixed, plan_mixed = asyncio.run(
            mixed(
                (base + feed_path, {}),
                (base + athlete_path + "/plan", headers),
                args.seconds,
                args.concurrency,
            )
        )
        print(line("  mixed: GET /feeds/{token}.ics", *feed_mixed, rps_bare))
        print(line("  mixed: GET .../plan", *plan_mixed, rps_bare))
        print(f"plan read / feed, same run:           {rps_plan / rps_feed:5.2f}  (goal >= 0.5)")
        print(
            f"feed beside plan reads / bare handler: {feed_mixed[0] / rps_bare:5.2f}  (goal >= 0.5)"
        )
        timings = []
        with httpx.Client(timeout=60) as client:
            for _ in range(args.plans):
                began = time.perf_counter()
                response = client.post(
                    base + athlete_path + "/plan", json={"weeks": 12}, headers=headers
                )
                timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 201, response.text
        print(
            f"{'POST .../plan (12 weeks), sequential':<34} {args.plans:8d} runs   p50 {statistics.median(timings):6.1f} ms  "
            f"p99 {pct(timings, 0.99):7.1f} ms"
        )
    finally:
        bare.terminate()
        app.terminate()


if __name__ == "__main__":
    main()
