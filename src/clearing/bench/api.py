"""`clearing bench api`: obligations/s through the HTTP API with durable commits.

For each database (SQLite file, PostgreSQL database created for the run):
seed members with ample collateral and known counterparties, start
``workers`` uvicorn processes on loopback, and drive them from a separate
load process (raw asyncio HTTP/1.1 keep-alive client, so the client costs
little CPU). Phases:

* ``noop``: ``GET /health`` — the no-op FastAPI request rate (baseline; its ledger read is cached a second);
* ``single``: ``POST /obligations`` from many connections, one obligation each;
* ``batch``: ``POST /obligations/batch`` of ``batch_size`` obligations;
* ``insert_baseline``: the same obligation rows inserted with a bare
  ``executemany`` on the driver (psycopg / sqlite3), one commit per batch.

Every measured commit is durable (PostgreSQL ``synchronous_commit=on``;
SQLite WAL with ``synchronous=FULL``).

Listening (``listen``): ``"per-worker"`` (default) runs each worker as its own
single-process uvicorn on its own port and the client deals its connections
out round-robin, as an L4 balancer in front of the workers would.
``"shared"`` is ``uvicorn --workers N`` on one socket: all workers accept
from it, and the one that wakes first takes every connection of a burst, so
a handful of keep-alive connections opened together all land on ONE worker
(measured: the other worker used 0.02 s of CPU in a 10 s phase).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

AMPLE = 10**30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return round(values[k] * 1000, 2)


# --------------------------------------------------------------------------- load client (own process)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


def _http(method: str, path: str, body: bytes, key: str | None) -> bytes:
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _client(cfg: dict[str, Any]) -> dict[str, Any]:
    ports, mode, seconds = cfg["ports"], cfg["mode"], cfg["seconds"]
    members: list[dict[str, str]] = cfg["members"]
    names = [m["name"] for m in members]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    done_items = 0
    run_id = uuid.uuid4().hex[:8]
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done_items
        me = members[n % len(members)]
        others = [x for x in names if x != me["name"]]
        rng = random.Random(n)
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[n % len(ports)])
        seq = 0
        try:
            while time.perf_counter() < deadline:
                seq += 1
                if mode == "noop":
                    raw = _http("GET", "/health", b"", None)
                    items = 1
                elif mode == "single":
                    body = (
                        f'{{"id":"{run_id}-{n}-{seq}","debtor":"{me["name"]}","creditor":"{rng.choice(others)}",'
                        f'"amount":"{rng.randint(1, 10**6)}","reference":"bench"}}'
                    ).encode()
                    raw = _http("POST", "/obligations", body, me["key"])
                    items = 1
                else:
                    # Each batch comes from the next member in turn (platforms submit their own batches).
                    me = members[(n + seq * cfg["connections"]) % len(members)]
                    others = [x for x in names if x != me["name"]]
                    size = cfg["batch_size"]
                    parts = [
                        f'{{"id":"{run_id}-{n}-{seq}-{i}","debtor":"{me["name"]}","creditor":"{rng.choice(others)}",'
                        f'"amount":"{rng.randint(1, 10**6)}"}}'
                        for i in range(size)
                    ]
                    body = ('{"items":[' + ",".join(parts) + "]}").encode()
                    raw = _http("POST", "/obligations/batch", body, me["key"])
                    items = size
                t0 = time.perf_counter()
                status, _ = await _request(reader, writer, raw)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if status in (200, 201):
                    done_items += items
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(cfg["connections"])))
    elapsed = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "items": done_items,
        "elapsed_s": round(elapsed, 3),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "items_per_s": round(done_items / elapsed, 1),
        "p50_ms": _pct(latencies, 50),
        "p99_ms": _pct(latencies, 99),
        "max_ms": _pct(latencies, 100),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _run_client(cfg: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "clearing.bench.api", json.dumps(cfg)],
        capture_output=True,
        text=True,
        check=False,
        timeout=cfg["seconds"] + 120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load client failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


# --------------------------------------------------------------------------- server side


def _seed(url: str, n_members: int) -> list[dict[str, str]]:
    from sqlalchemy import insert

    from clearing.adapters.db.models import Counterparty, Member
    from clearing.bootstrap import build_service
    from clearing.domain.vocabulary import Role
    from clearing.services import members as msvc
    from clearing.services.keys import Principal
    from clearing.settings import Settings

    ctx = build_service(Settings(database_url=url), with_chain=False, migrate=True)
    op = Principal(role=Role.OPERATOR, key_id=None)
    out = []
    for i in range(n_members):
        done = msvc.admit(ctx, op, name=f"m{i:03d}", address="0x" + f"{i + 1:040x}", tier="A", credit_line=AMPLE)
        out.append({"name": done.member.name, "key": done.api_key, "id": done.member.id})
    with ctx.uow() as uow:
        s = uow.session
        for m in s.query(Member).all():
            m.chain_balance, m.chain_credit_limit = AMPLE, AMPLE
        s.execute(
            insert(Counterparty.__table__),
            [{"debtor_id": a["id"], "creditor_id": b["id"]} for a in out for b in out if a is not b],
        )
        uow.commit()
    ctx.engine.dispose()
    return out


def _start_servers(
    url: str,
    workers: int,
    history_limit: int | None = None,
    listen: str = "per-worker",
) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    """uvicorn processes serving the app: one per worker on its own port, or one ``--workers N`` (see module doc)."""
    if listen not in ("per-worker", "shared"):
        raise ValueError(f"listen must be 'per-worker' or 'shared', got {listen!r}")
    env = {**os.environ, "CLEARING_DATABASE_URL": url, "CLEARING_API__AUTH_CACHE_SECONDS": "30"}
    if history_limit is not None:
        env["CLEARING_API__HISTORY_LIMIT"] = str(history_limit)
    shape = [(_free_port(), 1) for _ in range(workers)] if listen == "per-worker" else [(_free_port(), workers)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "clearing.api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(n),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port, n in shape
    ]
    try:
        for proc, (port, n) in zip(procs, shape, strict=True):
            _wait_up(proc, port, n)
    except BaseException:
        _stop(procs)
        raise
    return procs, [port for port, _ in shape]


def _wait_up(proc: subprocess.Popen[bytes], port: int, workers: int) -> None:
    import httpx

    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                # every worker must be up: a few more probes
                for _ in range(workers * 4):
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("uvicorn did not start in 60 s")


def _worker_pids(procs: list[subprocess.Popen[bytes]]) -> list[int]:
    """The processes that serve requests: each uvicorn, or the workers under a ``--workers N`` supervisor."""
    pids = [p.pid for p in procs]
    try:
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid in pids:
                    children.append(int(entry))
    except OSError:  # not Linux: account the top processes only
        return pids
    return [c for c in children if _is_uvicorn_worker(c)] or pids


def _is_uvicorn_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"resource_tracker" not in f.read()
    except OSError:
        return False


def _cpu_seconds(pids: list[int]) -> list[float | None]:
    """User + system CPU seconds each process has used so far (None where /proc cannot tell)."""
    out: list[float | None] = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
        except (OSError, ValueError):
            out.append(None)
    return out


def _phase(cfg: dict[str, Any], pids: list[int]) -> dict[str, Any]:
    """One load phase, with the CPU seconds each server worker spent in it."""
    before = _cpu_seconds(pids)
    result = _run_client(cfg)
    after = _cpu_seconds(pids)
    result["worker_cpu_s"] = [
        None if a is None or b is None else round(a - b, 2) for a, b in zip(after, before, strict=True)
    ]
    return result


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _insert_baseline(url: str, members: list[dict[str, str]], seconds: float, batch_size: int) -> dict[str, Any]:
    """Bare driver executemany of the same obligation rows, one durable commit per batch."""
    from datetime import UTC, datetime

    from clearing.domain.merkle import keccak256

    ids = [m["id"] for m in members]
    rng = random.Random(7)
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:8]
    total = 0
    t_end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    columns = (
        "obligation_key, id, debtor_id, creditor_id, amount, reference, on_behalf_of, created_at, submitted_by, "
        "body_hash, signature, status, route, shortfall, cycle_id, leaf, updated_at"
    )
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        sql = f"INSERT INTO obligations ({columns}) VALUES ({','.join('?' * 17)})"
        ts = now.replace(tzinfo=None).isoformat(" ")
        while time.perf_counter() < t_end:
            rows = []
            for i in range(batch_size):
                d = rng.choice(ids)
                c = rng.choice([x for x in ids[:3] if x != d] or [ids[-1]])
                oid = f"base-{run}-{total + i}"
                rows.append(
                    (
                        "0x" + keccak256(oid.encode()).hex(),  # as the service keys each row
                        oid,
                        d,
                        c,
                        str(rng.randint(1, 10**6)),
                        "",
                        None,
                        ts,
                        d,
                        "0" * 64,
                        None,
                        "accepted",
                        "net",
                        None,
                        None,
                        None,
                        ts,
                    )
                )
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
            total += batch_size
        conn.close()
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        sql = f"INSERT INTO obligations ({columns}) VALUES ({','.join(['%s'] * 17)})"
        while time.perf_counter() < t_end:
            rows = []
            for i in range(batch_size):
                d = rng.choice(ids)
                c = rng.choice([x for x in ids[:3] if x != d] or [ids[-1]])
                oid = f"base-{run}-{total + i}"
                rows.append(
                    (
                        "0x" + keccak256(oid.encode()).hex(),  # as the service keys each row
                        oid,
                        d,
                        c,
                        rng.randint(1, 10**6),
                        "",
                        None,
                        now,
                        d,
                        "0" * 64,
                        None,
                        "accepted",
                        "net",
                        None,
                        None,
                        None,
                        now,
                    )
                )
            with conn.cursor() as cur:
                cur.executemany(sql, rows)
            conn.commit()
            total += batch_size
        conn.close()
    elapsed = time.perf_counter() - t0
    return {"rows": total, "elapsed_s": round(elapsed, 3), "rows_per_s": round(total / elapsed, 1)}


def _bench_one(
    url: str,
    *,
    seconds: float,
    workers: int,
    connections: int,
    batch_size: int,
    n_members: int,
    progress: Callable[[str], None],
    history_limit: int | None = None,
    listen: str = "per-worker",
) -> dict[str, Any]:
    members = _seed(url, n_members)
    procs, ports = _start_servers(url, workers, history_limit, listen)
    try:
        base = {"ports": ports, "members": members, "batch_size": batch_size}
        pids = _worker_pids(procs)
        progress("  no-op endpoint…")
        noop = _phase({**base, "mode": "noop", "seconds": seconds, "connections": connections}, pids)
        progress("  single endpoint…")
        single = _phase({**base, "mode": "single", "seconds": seconds, "connections": connections}, pids)
        progress("  batch endpoint…")
        batch = _phase({**base, "mode": "batch", "seconds": seconds, "connections": max(2, workers * 2)}, pids)
    finally:
        _stop(procs)
    progress("  bare insert baseline…")
    baseline = _insert_baseline(url, members, min(seconds, 5.0), batch_size)
    return {
        "noop_baseline": noop,
        "single": single,
        "batch": batch,
        "insert_baseline": baseline,
        "ratios": ratios(noop, single, batch, baseline),
    }


#: Issue 15's targets, each a ratio to a baseline of the same run: batches ≥ 1.0× the bare insert, single
#: requests ≥ 0.25× the no-op endpoint, single p99 ≤ 10× the no-op p99.
RATIO_TARGETS = {"batch_vs_insert": 1.0, "single_vs_noop": 0.25, "single_p99_vs_noop_p99": 10.0}


def ratios(
    noop: dict[str, Any], single: dict[str, Any], batch: dict[str, Any], insert: dict[str, Any]
) -> dict[str, Any]:
    """The throughput and latency of the endpoints as ratios to the baselines measured in the same run (the
    machine is shared: bare rates move with its load, ratios much less), and whether each meets its target."""

    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    got = {
        "batch_vs_insert": div(batch["items_per_s"], insert["rows_per_s"]),
        "single_vs_noop": div(single["requests_per_s"], noop["requests_per_s"]),
        "single_p99_vs_noop_p99": div(single["p99_ms"], noop["p99_ms"]),
    }
    meets = {
        k: None if v is None else (v <= RATIO_TARGETS[k] if k.endswith("p99") else v >= RATIO_TARGETS[k])
        for k, v in got.items()
    }
    return {**got, "targets": RATIO_TARGETS, "meets": meets}


def _impl(module: str, name: str, fallback: str) -> str:
    try:
        __import__(module)
        return name
    except ImportError:
        return fallback


def run(
    *,
    backend: str = "both",
    seconds: float = 10.0,
    workers: int = 2,
    connections: int = 32,
    batch_size: int = 5000,
    pg_url: str | None = None,
    n_members: int = 50,
    history_limit: int | None = None,
    listen: str = "per-worker",
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    results: dict[str, Any] = {
        "config": {
            "seconds": seconds,
            "workers": workers,
            "connections": connections,
            "batch_size": batch_size,
            "members": n_members,
            "cpus": os.cpu_count(),
            "history_limit": history_limit,
            "listen": listen,
            "http": _impl("httptools", "httptools", "h11"),
            "loop": _impl("uvloop", "uvloop", "asyncio"),
            "load_avg_before": os.getloadavg(),
        },
    }
    if backend in ("sqlite", "both"):
        progress("SQLite:")
        with tempfile.TemporaryDirectory(prefix="clearing-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
            results["sqlite"] = _bench_one(
                url,
                seconds=seconds,
                workers=workers,
                connections=connections,
                batch_size=batch_size,
                n_members=n_members,
                progress=progress,
                history_limit=history_limit,
                listen=listen,
            )
    if backend in ("postgres", "both"):
        progress("PostgreSQL:")
        server = (
            pg_url
            or os.environ.get("CLEARING_TEST_POSTGRES_URL")
            or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        server = server.replace("postgresql://", "postgresql+psycopg://")
        name = f"clearing_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = server.rsplit("/", 1)[0] + f"/{name}"
            results["postgres"] = _bench_one(
                url,
                seconds=seconds,
                workers=workers,
                connections=connections,
                batch_size=batch_size,
                n_members=n_members,
                progress=progress,
                history_limit=history_limit,
                listen=listen,
            )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    results["config"]["load_avg_after"] = os.getloadavg()
    targets = {"batch_obligations_per_s": 20_000, "single_requests_per_s": 1_000, "single_p99_ms": 50}
    results["targets"] = targets
    if "postgres" in results:
        pg = results["postgres"]
        results["postgres_meets_targets"] = {
            "batch": pg["batch"]["items_per_s"] >= targets["batch_obligations_per_s"],
            "single_rate": pg["single"]["requests_per_s"] >= targets["single_requests_per_s"],
            "single_p99": (pg["single"]["p99_ms"] or 1e9) < targets["single_p99_ms"],
        }
    return results


if __name__ == "__main__":  # the load client process
    print(json.dumps(asyncio.run(_client(json.loads(sys.argv[1])))))
