"""What every console page needs: the console's state, who is signed in, forms with CSRF, rendering.

Handlers are plain ``def`` (FastAPI runs them in its thread pool: they read the
ledger); a form body is read by the async :func:`form_fields` dependency, so no
multipart library is needed (the console's forms are url-encoded).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment

from clearing.api.console import render
from clearing.api.console.session import COOKIE, Session, Signer, decode
from clearing.errors import ClearingError, Forbidden
from clearing.services import api_keys
from clearing.services.context import ServiceContext

#: Security headers of every console answer: no inline script, nothing from another origin but the chain's
#: RPC (connect-src: the auditor's page reads it from the browser), no framing.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' http: https:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SignInNeeded(Exception):
    """No valid session: the handler answers with the sign-in page (a redirect for a page, 401 for htmx)."""


@dataclass
class Console:
    ctx: ServiceContext
    signer: Signer
    env: Environment
    decimals: int
    secure_cookie: bool
    session_hours: float
    #: The house contract's address and the RPC URL the auditor's page reads (None: no chain or no RPC).
    house: str | None
    rpc_url: str | None
    chain_id: int | None
    assets: Path | None

    def page(self, name: str, session: Session | None, *, http_status: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(session=session, who=session.principal if session else None, **values)
        return HTMLResponse(html, status_code=http_status, headers=HEADERS)


def _assets_dir(configured: Path | None) -> Path | None:
    candidates = [configured] if configured else [Path(__file__).resolve().parents[4] / "node_modules"]
    candidates.append(Path.cwd() / "node_modules")
    return next((p for p in candidates if p is not None and p.is_dir()), None)


def build(ctx: ServiceContext) -> Console:
    """The console of ``ctx``: decimals from the token on chain (else ``ui.token_decimals``), its secret."""
    ui = ctx.settings.ui
    c = ctx.contracts
    decimals = c.token.decimals() if c is not None else ui.token_decimals
    secret = ui.session_secret.get_secret_value().encode() if ui.session_secret else secrets.token_bytes(32)
    rpc = ui.rpc_url or (c.chain.rpc_url if c is not None else None) or ctx.settings.chain.rpc_url
    return Console(
        ctx=ctx,
        signer=Signer(secret),
        env=render.environment(decimals),
        decimals=decimals,
        secure_cookie=ui.secure_cookie,
        session_hours=ui.session_hours,
        house=c.house.address if c is not None else None,
        rpc_url=rpc,
        chain_id=c.chain.chain_id if c is not None else None,
        assets=_assets_dir(ui.assets_dir),
    )


def console_of(request: Request) -> Console:
    state = request.app.state
    if state.console is None:  # built on first use: the parent app's lifespan may build its context late
        state.console = build(state.parent.state.ctx)
    return state.console  # type: ignore[no-any-return]


ConsoleDep = Annotated[Console, Depends(console_of)]


def current(request: Request, con: Console) -> Session | None:
    """The signed-in session, if the cookie is genuine, unexpired and its API key still authenticates."""
    s = decode(con.signer, request.cookies.get(COOKIE))
    if s is None or not api_keys.still_active(con.ctx, s.principal.key_id, s.digest):
        return None
    return s


def require(request: Request, con: Console, *roles: str) -> Session:
    s = current(request, con)
    if s is None:
        raise SignInNeeded()
    if roles and s.principal.role not in roles:
        raise Forbidden(f"this page needs a {' or '.join(roles)} key; you signed in with a {s.principal.role} key")
    return s


async def form_fields(request: Request) -> dict[str, str]:
    """The url-encoded form of a POST (the last value of a repeated field)."""
    return dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))


FormDep = Annotated[dict[str, str], Depends(form_fields)]


def check_csrf(s: Session, form: dict[str, str]) -> None:
    if not hmac.compare_digest(form.get("csrf", ""), s.csrf):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page and try again", field="csrf")


def back(path: str, note: str | None = None) -> RedirectResponse:
    """Post/redirect/get: back to ``path`` with a one-line note for the page to show."""
    url = path if note is None else f"{path}{'&' if '?' in path else '?'}note={quote(note)}"
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def error_page(con: Console, request: Request, exc: ClearingError, status: int) -> HTMLResponse:
    s = current(request, con)
    return con.page("error.html", s, http_status=status, message=exc.message, field=exc.field, status_code=status)
