"""A member's own pages: headroom, forecast and top-up, obligations, holds, disputes, withdrawals, credit,
webhook endpoints and their deliveries. A member key sees only its own member (``/ui/me``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from clearing.api.console.base import ConsoleDep, FormDep, check_csrf, require
from clearing.services import console as views
from clearing.services.webhooks import endpoints

router = APIRouter()
MEMBER = "member"


def _render(request: Request, con: ConsoleDep, **extra: Any) -> Response:
    s = require(request, con, MEMBER)
    name = s.principal.member_name or ""
    page = views.member_page(con.ctx, s.principal, name)
    more = views.member_extras(con.ctx, s.principal)
    return con.page("member.html", s, page=page, extras=more, own=True, nav="me", **extra)


@router.get("/me", include_in_schema=False)
def me_page(request: Request, con: ConsoleDep) -> Response:
    return _render(request, con)


@router.post("/me/webhooks", include_in_schema=False)
def register_webhook(request: Request, con: ConsoleDep, form: FormDep) -> Response:
    """Register an endpoint (``POST /webhooks``); its secret is shown once, on the page this answers."""
    s = require(request, con, MEMBER)
    check_csrf(s, form)
    events = [e.strip() for e in form.get("events", "*").split(",") if e.strip()]
    view, secret = endpoints.register(con.ctx, s.principal, url=form.get("url", "").strip(), events=events)
    return _render(request, con, created=view, secret=secret)
