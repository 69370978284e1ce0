"""The FastAPI application: ``create_app(ctx)``; ``clearing serve`` runs it under uvicorn."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi_offline import FastAPIOffline

from clearing.api import problems
from clearing.api.console import create_console
from clearing.api.routers import (
    alerts,
    audit,
    calendar,
    cover2,
    credit,
    cycles,
    defaults,
    disputes,
    eip712,
    financing,
    forecasts,
    holds,
    keys,
    liquidity,
    members,
    merchants,
    obligations,
    orders,
    outbox,
    pledges,
    pool,
    releases,
    webhooks,
)
from clearing.api.schemas.outbox import HealthOut, OutboxHealthOut
from clearing.services import writer
from clearing.services.context import ServiceContext
from clearing.services.submission import GroupCommitter
from clearing.services.webhooks.delivery import DeliveryWorker

DESCRIPTION = """
Clearing house API. Members submit obligations (single or batch, idempotent by
their own id), read their positions and headroom, and withdraw free collateral.
Operators admit members, pin tiers and lines, set limits, review holds,
disputes and complaints, and run cycles. Tiers and credit lines follow each
member's credit score, computed from the ledger.
Auditors read cycles and proofs. Lenders read the pool and get the
transactions their own wallets sign to lend and withdraw.

* Auth: `Authorization: Bearer <api key>`.
* Amounts are decimal strings of the token's smallest unit (JSON integers up to
  2^53-1 are accepted in requests, since larger JSON numbers lose digits in many
  readers; floats never).
* Errors are RFC 9457 problem details (`application/problem+json`) with `code`,
  the offending `field`, and for batches `errors[]` listing every bad item.
"""


#: The OpenAPI document's tags, in the order /docs shows them.
TAGS: list[dict[str, str]] = [
    {"name": "obligations", "description": "Submit and read obligations (member keys)"},
    {
        "name": "escrow",
        "description": "Tier-C order escrow: funding transactions and actions (parties, operator)",
    },
    {"name": "members", "description": "Your account (member keys); admission and limits (operator keys)"},
    {"name": "keys", "description": "API keys: list, rotate with an overlap, revoke (members: their own)"},
    {
        "name": "credit",
        "description": "Credit earned from the ledger: score, tier, line and why (members: their own); "
        "scores, tier migrations, overrides (operator keys)",
    },
    {
        "name": "forecasts",
        "description": "Daily flows 7-14 days ahead, shortfall dates and top-up advice (members: their own); "
        "every member's and the pool's forecasts, runs on demand, the event calendar (operator keys)",
    },
    {"name": "holds", "description": "Review held obligations (operator keys)"},
    {
        "name": "alerts",
        "description": "Alerts before money runs short: members read and acknowledge their own; operators "
        "read all, resolve, evaluate and set thresholds per member",
    },
    {
        "name": "defaults",
        "description": "Members in default: declared (operator, or the scan after the grace period), their loss "
        "covered by the waterfall on chain step by step, cured once repaid (members: their own)",
    },
    {
        "name": "disputes",
        "description": "Parties dispute obligations before cut-off or after settlement; operators resolve",
    },
    {
        "name": "complaints",
        "description": "Members complain about counterparties; operators validate or dismiss",
    },
    {"name": "liquidity", "description": "Liquidity across members (operator keys)"},
    {
        "name": "cover2",
        "description": "Cover 2: the loss if the two largest exposures default together, against the pool's "
        "resources, after every cycle (operator keys)",
    },
    {"name": "cycles", "description": "Settlement cycles (operator keys; auditors read)"},
    {"name": "audit", "description": "Merkle proofs and reconciliation (auditor or operator keys)"},
    {"name": "eip712", "description": "The EIP-712 domain and types debtors sign obligations under (public)"},
    {"name": "webhooks", "description": "Signed webhooks: endpoints, secrets, delivery log (members: own)"},
    {"name": "outbox", "description": "Chain transactions the house has not seen mined yet (operator keys)"},
    {
        "name": "pool",
        "description": "The credit pool for lenders (no key: public chain data and unsigned calls)",
    },
]


def create_app(ctx: ServiceContext | None = None, *, extra_routers: list[Any] | None = None) -> FastAPI:
    """Build the app around ``ctx`` (default: a ledger-only house from settings, built at start-up).

    The lifespan owns what lives as long as the server: the group committer for
    single submissions (its threads stop after the groups already queued) and,
    for the house it builds itself, the scheduler that releases lapsed holds.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if app.state.ctx is None:
            from clearing.bootstrap import build_service
            from clearing.services.scheduler import Scheduler

            app.state.ctx = build_service(with_chain=False)
            # A ledger-only house has no cycles to cut off, but its holds still lapse on time.
            scheduler = Scheduler(app.state.ctx, cutoff_seconds=0)
            scheduler.start()
        api = app.state.ctx.settings.api
        app.state.group_committer = (
            GroupCommitter(app.state.ctx, max_items=api.group_commit_max, threads=api.group_commit_threads)
            if api.group_commit
            else None
        )
        try:
            yield
        finally:
            if app.state.group_committer is not None:
                app.state.group_committer.close()
            if scheduler is not None:
                scheduler.stop()

    # FastAPIOffline: /docs and /redoc from the pinned Swagger UI and ReDoc files its wheel ships
    # (served under /static-offline-docs), so they render on a machine without internet.
    app = FastAPIOffline(
        title="Clearing house",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # null: Swagger UI's validator badge would otherwise send the document to validator.swagger.io
        swagger_ui_parameters={"validatorUrl": None},
        openapi_tags=TAGS,
    )
    app.state.ctx = ctx
    app.state.group_committer = None
    problems.install(app)
    for router in (
        obligations.router,
        orders.router,
        credit.router,
        calendar.router,
        forecasts.router,
        members.router,
        keys.router,
        holds.router,
        alerts.router,
        defaults.router,
        merchants.router,
        disputes.router,
        liquidity.router,
        cover2.router,
        cycles.router,
        releases.router,
        pool.router,
        pledges.router,
        financing.router,
        audit.router,
        eip712.router,
        outbox.router,
        webhooks.router,
        *(extra_routers or []),
    ):
        app.include_router(router)
    # The browser console (docs/console.md): its own sub-application, so it answers HTML and stays out of
    # the OpenAPI document; it reads ``app.state.ctx`` once the lifespan has set it.
    app.mount("/ui", create_console(app))
    app.state.health = (float("-inf"), None)

    @app.get(
        "/health",
        tags=["health"],
        summary="Liveness, and whether chain transactions are stuck",
        description="200 while the process serves. `status` is `degraded` when house transactions have been "
        "pending longer than CLEARING_WRITER__STUCK_SECONDS (listed by GET /outbox/stuck) or the ledger did "
        "not answer. The outbox figures are at most a second old.",
        response_model=HealthOut,
    )
    async def health(request: Request) -> HealthOut:
        ctx: ServiceContext = request.app.state.ctx
        at, report = request.app.state.health
        if report is None or time.monotonic() - at > HEALTH_CACHE_SECONDS:
            report = await run_in_threadpool(_health, ctx)
            request.app.state.health = (time.monotonic(), report)
        return report.model_copy(update={"writer": ctx.outbox.writes_here()})

    return app


#: /health reads the ledger at most this often per process (it stays as cheap as a no-op).
HEALTH_CACHE_SECONDS = 1.0


def _health(ctx: ServiceContext) -> HealthOut:
    try:
        h = writer.outbox_health(ctx)
    except Exception as exc:  # the ledger is unreachable: still alive, but degraded
        return HealthOut(status="degraded", writer=False, outbox=None, detail=f"the ledger did not answer: {exc}")
    out = OutboxHealthOut(
        pending=h.pending, stuck=h.stuck, oldest_seconds=h.oldest_seconds, stuck_after_seconds=h.stuck_after_seconds
    )
    detail = None if h.ok else f"{h.stuck} chain transaction(s) pending over {h.stuck_after_seconds} s"
    return HealthOut(status="ok" if h.ok else "degraded", writer=False, outbox=out, detail=detail)


def create_service_app() -> FastAPI:
    """What `clearing serve` runs (in each worker): ledger, chain, cycle settlement, the scheduler and
    the chain writer's loop, and the webhook delivery worker.

    Start-up finishes any cycle a crash left mid-way (``build_service``); the
    scheduler closes and settles cycles every ``CLEARING_CYCLE__CUTOFF_SECONDS``
    (0: only operators close them) and keeps the on-chain mirror in sync; the
    chain writer (one elected worker, ``services/writer.py``) sends what every
    worker plans.
    """
    import atexit

    from clearing.bootstrap import build_service
    from clearing.services.scheduler import Scheduler

    ctx = build_service(migrate=True, fresh_embedded_ledger=True)
    scheduler = Scheduler(ctx, cutoff_seconds=ctx.settings.cycle.cutoff_seconds)
    scheduler.start()
    chain_writer = writer.ChainWriter(ctx)
    chain_writer.start()
    atexit.register(ctx.outbox.close)
    atexit.register(scheduler.stop)
    atexit.register(chain_writer.stop)
    if ctx.settings.webhooks.deliver:
        # Every worker process delivers: deliveries are claimed row by row (SKIP LOCKED on PostgreSQL).
        deliveries = DeliveryWorker(ctx.sessions, ctx.settings.webhooks)
        deliveries.start()
        atexit.register(deliveries.stop)
    return create_app(ctx)
