"""Operator pages: members, one member, the holds queue, cycles, the pool, alerts and the chain writer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from clearing.api.console.base import Console, ConsoleDep, FormDep, back, check_csrf, require
from clearing.errors import ClearingError, ServiceUnavailable, ValidationError
from clearing.services import alerts, cover2, holds, pool, releases, writer
from clearing.services import console as views
from clearing.services.cycles import CycleService
from clearing.services.forecasts import views as forecasts
from clearing.services.webhooks import endpoints

router = APIRouter()
OPERATOR = "operator"


def _query(sort: str, dir: str, q: str, tier: str, short: str) -> views.TableQuery:
    return views.TableQuery(
        sort=sort if sort in views.SORTS else "name",
        descending=dir == "desc",
        text=q[:100],
        tier=tier if tier in ("A", "B", "C") else None,
        short_only=short == "1",
    )


Sort = Annotated[str, Query(max_length=20)]
Text = Annotated[str, Query(max_length=100)]


@router.get("/members", include_in_schema=False)
def members_page(
    request: Request,
    con: ConsoleDep,
    sort: Sort = "name",
    dir: Sort = "asc",
    q: Text = "",
    tier: Sort = "",
    short: Sort = "",
) -> Response:
    """The full page; with ``HX-Request`` (htmx swapping the table) only the table."""
    s = require(request, con, OPERATOR)
    query = _query(sort, dir, q, tier, short)
    rows = views.members_table(con.ctx, query)
    partial = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    name = "members_table.html" if partial else "members.html"
    return con.page(name, s, rows=rows, query=query, sorts=views.SORTS, nav="members")


@router.get("/members/{name}", include_in_schema=False)
def member_page(request: Request, name: str, con: ConsoleDep) -> Response:
    s = require(request, con, OPERATOR)
    page = views.member_page(con.ctx, s.principal, name)
    return con.page("member.html", s, page=page, own=False, nav="members")


@router.get("/holds", include_in_schema=False)
def holds_page(request: Request, con: ConsoleDep, note: Text = "", status: Sort = "open") -> Response:
    s = require(request, con, OPERATOR)
    shown = status if status in ("open", "released", "rejected") else None
    rows = holds.list_holds(con.ctx, status=shown)
    return con.page("holds.html", s, rows=rows, note=note, status=status, nav="holds")


@router.post("/holds/{hold_id}/review", include_in_schema=False)
def review_hold(request: Request, hold_id: int, con: ConsoleDep, form: FormDep) -> Response:
    """Release or reject with a reason: the same service as ``POST /holds/{id}/review``."""
    s = require(request, con, OPERATOR)
    check_csrf(s, form)
    decision = form.get("decision", "")
    if decision not in ("release", "reject"):
        raise ValidationError("decision must be release or reject", field="decision")
    r = holds.review(con.ctx, s.principal, hold_id, decision=decision, reason=form.get("reason", ""))
    return back(
        "/ui/holds", f"hold {hold_id}: {r.decision}d, obligation {r.hold.obligation_id} now {r.obligation_status}"
    )


def _cycles(con: Console) -> CycleService:
    if con.ctx.cycles is None:
        raise ServiceUnavailable("cycle settlement is not configured on this server (no chain)")
    return con.ctx.cycles


@router.get("/cycles", include_in_schema=False)
def cycles_page(request: Request, con: ConsoleDep, note: Text = "") -> Response:
    s = require(request, con, OPERATOR, "auditor")
    rows = _cycles(con).list(50)
    return con.page("cycles.html", s, rows=rows, note=note, nav="cycles")


@router.get("/cycles/{cycle_id}", include_in_schema=False)
def cycle_page(request: Request, cycle_id: int, con: ConsoleDep, note: Text = "") -> Response:
    s = require(request, con, OPERATOR, "auditor")
    c = _cycles(con).get(cycle_id)
    try:
        escrow = releases.escrow(con.ctx, cycle_id) if c.root else None
    except ClearingError:
        escrow = None
    return con.page("cycle.html", s, c=c, escrow=escrow, note=note, nav="cycles")


@router.post("/cycles/open", include_in_schema=False)
def open_cycle(request: Request, con: ConsoleDep, form: FormDep) -> Response:
    s = require(request, con, OPERATOR)
    check_csrf(s, form)
    c = _cycles(con).open()
    return back("/ui/cycles", f"cycle {c.id} is open")


@router.post("/cycles/{cycle_id}/{action}", include_in_schema=False)
def cycle_action(request: Request, cycle_id: int, action: str, con: ConsoleDep, form: FormDep) -> Response:
    """Close (cut-off) or settle (net, commit, release on chain): ``POST /cycles/{id}/close`` and ``/settle``."""
    s = require(request, con, OPERATOR)
    check_csrf(s, form)
    svc = _cycles(con)
    if action == "close":
        c = svc.close(cycle_id)
    elif action == "settle":
        c = svc.settle(cycle_id)
    else:
        raise ValidationError("action must be close or settle", field="action")
    return back(f"/ui/cycles/{cycle_id}", f"cycle {c.id} {action}d: {c.state}")


@router.get("/pool", include_in_schema=False)
def pool_page(request: Request, con: ConsoleDep) -> Response:
    s = require(request, con, OPERATOR)
    missing = {}
    try:
        status = pool.status(con.ctx)
        queue, lenders = pool.queue(con.ctx, limit=50), pool.lenders(con.ctx, status)
    except ClearingError as exc:
        status, queue, lenders, missing["pool"] = None, None, [], exc.message
    try:
        outlook = forecasts.pool(con.ctx)
    except ClearingError as exc:
        outlook, missing["forecast"] = None, exc.message
    try:
        c2 = cover2.latest(con.ctx)
    except ClearingError as exc:
        c2, missing["cover2"] = None, exc.message
    return con.page(
        "pool.html",
        s,
        pool=status,
        queue=queue,
        lenders=lenders,
        outlook=outlook,
        cover2=c2,
        missing=missing,
        nav="pool",
    )


@router.get("/ops", include_in_schema=False)
def ops_page(request: Request, con: ConsoleDep) -> Response:
    """Alerts, webhook deliveries and the chain writer's health."""
    s = require(request, con, OPERATOR)
    hooks = endpoints.list_endpoints(con.ctx, s.principal)
    return con.page(
        "ops.html",
        s,
        alerts=alerts.list_alerts(con.ctx, s.principal, state="active", limit=200),
        hooks=hooks,
        deliveries={h.id: endpoints.deliveries(con.ctx, s.principal, h.id, limit=10) for h in hooks[:50]},
        health=writer.outbox_health(con.ctx),
        stuck=writer.stuck_rows(con.ctx, limit=50),
        writes_here=con.ctx.outbox.writes_here() if con.ctx.outbox is not None else False,
        nav="ops",
    )
