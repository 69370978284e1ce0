"""`clearing bench ui`: time to serve the console's members page with N members, against the JSON of the same members.

A fresh SQLite ledger gets ``members`` members admitted through the service,
collateral and credit limits as chain sync would mirror them, a credit score each
(the real rescoring), a 14-day forecast each (synthetic, seeded: a random walk of
the median balance, some running short) and the alerts the real evaluation raises
from them. The app runs under uvicorn on loopback; one client signs in through the
console's form and then alternates, ``repeats`` times each:

* ``members_page``: ``GET /ui/members`` (the full page: every member's row with its sparkline);
* ``members_sorted``: ``GET /ui/members?sort=headroom&dir=desc`` as htmx asks it (the table only);
* ``baseline_json``: ``GET /members`` with the operator's key (the API's JSON of the same members).

Times are the client's, on loopback (an upper bound on the server's); medians and
p95 in ms, and the page's median over the baseline's.
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from sqlalchemy import select, update

from clearing.adapters.db.forecast_models import MemberForecastRow
from clearing.adapters.db.models import Member
from clearing.domain.vocabulary import Role
from clearing.services import alerts, credit, members
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal, generate_key

TOKEN = 10**6
TARGET_MS = 300.0


def _seed(ctx: ServiceContext, n: int, seed: int) -> None:
    rng = random.Random(seed)
    op = Principal(role=Role.OPERATOR, key_id=None)
    for i in range(n):
        members.admit(ctx, op, name=f"m{i:05d}", address=Account.create().address, tier=rng.choice("AB"))
    today = ctx.clock().date()
    with ctx.uow() as uow:
        s = uow.session
        ids = list(s.scalars(select(Member.id).order_by(Member.id)))
        for mid in ids:
            collateral = rng.randint(1_000, 500_000) * TOKEN
            s.execute(
                update(Member)
                .where(Member.id == mid)
                .values(chain_balance=collateral, chain_credit_limit=rng.randint(0, 5) * collateral // 10)
            )
            balance = collateral
            days = []
            for d in range(14):
                step = rng.randint(-60_000, 40_000) * TOKEN
                balance += step
                days.append(
                    {
                        "date": (today + timedelta(d)).isoformat(),
                        "inflow_p50": str(max(step, 0)),
                        "outflow_p50": str(max(-step, 0)),
                        "net_p05": str(step - 20_000 * TOKEN),
                        "net_p50": str(step),
                        "net_p95": str(step + 20_000 * TOKEN),
                        "naive_net": str(step),
                        "balance_p05": str(balance - 50_000 * TOKEN),
                        "balance_p50": str(balance),
                        "shortfall_probability": 0.5 if balance < 0 else 0.01,
                    }
                )
            short = next((date for date, v in ((x["date"], int(x["balance_p50"])) for x in days) if v < 0), None)
            s.add(
                MemberForecastRow(
                    member_id=mid,
                    start=today,
                    horizon=14,
                    model="bench",
                    model_version="1",
                    data_version=f"bench-{mid}",
                    trigger="manual",
                    shortfall_date=None if short is None else today.fromisoformat(short),
                    topup_amount=None if short is None else -min(int(x["balance_p50"]) for x in days),
                    topup_by=None if short is None else today.fromisoformat(short),
                    balance=collateral,
                    days=days,
                )
            )
        uow.commit()
    credit.rescore(ctx, trigger="schedule")
    alerts.run(ctx)


def _timed(client: httpx.Client, path: str, headers: dict[str, str] | None = None) -> tuple[float, int]:
    t = time.perf_counter()
    r = client.get(path, headers=headers)
    elapsed = time.perf_counter() - t
    if r.status_code != 200:
        raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:200]}")
    return elapsed, len(r.content)


def _summary(times: list[float], size: int) -> dict[str, Any]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))] * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
        "bytes": size,
    }


def run(members_count: int = 1000, repeats: int = 20, seed: int = 7) -> dict[str, Any]:
    import uvicorn

    from clearing.adapters.chain.backends import free_port
    from clearing.api.app import create_app
    from clearing.bootstrap import build_service
    from clearing.settings import ApiSettings, Settings

    key = generate_key(Role.OPERATOR)
    db = Path(tempfile.mkdtemp(prefix="clearing-bench-ui-")) / "ledger.db"
    settings = Settings(database_url=f"sqlite:///{db}", api=ApiSettings(operator_key=key))
    ctx = build_service(settings, with_chain=False, migrate=True)
    t0 = time.perf_counter()
    _seed(ctx, members_count, seed)
    seeded_s = time.perf_counter() - t0
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{server.config.port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            form = c.get("/ui/signin")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf is not None
            c.post("/ui/signin", data={"csrf": csrf.group(1), "api_key": key})
            bearer = {"Authorization": f"Bearer {key}"}
            phases: dict[str, tuple[str, dict[str, str] | None]] = {
                "members_page": ("/ui/members", None),
                "members_sorted": ("/ui/members?sort=headroom&dir=desc", {"HX-Request": "true"}),
                "baseline_json": ("/members", bearer),
            }
            for path, headers in phases.values():  # warm-up: templates compiled, caches filled
                _timed(c, path, headers)
            times: dict[str, list[float]] = {k: [] for k in phases}
            sizes: dict[str, int] = {}
            for _ in range(repeats):
                for name, (path, headers) in phases.items():
                    elapsed, sizes[name] = _timed(c, path, headers)
                    times[name].append(elapsed)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    out = {k: _summary(v, sizes[k]) for k, v in times.items()}
    page = out["members_page"]["median_ms"]
    return {
        "members": members_count,
        "repeats": repeats,
        "seed": seed,
        "seeded_s": round(seeded_s, 1),
        **out,
        "page_over_json": round(page / out["baseline_json"]["median_ms"], 2),
        "target_ms": TARGET_MS,
        "meets_target": page <= TARGET_MS,
    }
