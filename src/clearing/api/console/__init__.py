"""The browser console under ``/ui``: server-rendered pages (Jinja2) with htmx, mounted in the API app.

A sub-application, so its errors answer as HTML pages (the API's answer as
problem JSON) and it stays out of the OpenAPI document. It calls the same
services as the API's routers with the principal of the signed-in key.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response

from clearing.api.console import auditor, member, operator
from clearing.api.console.base import (
    HEADERS,
    Console,
    ConsoleDep,
    FormDep,
    SignInNeeded,
    check_csrf,
    console_of,
    current,
    error_page,
)
from clearing.api.console.render import TEMPLATES
from clearing.api.console.session import COOKIE, PRE_COOKIE, PRE_SECONDS, encode, new_session, pre_token, pre_token_ok
from clearing.api.console.session import set_cookie as put_cookie
from clearing.api.problems import status_of
from clearing.errors import ClearingError, Forbidden
from clearing.services import api_keys
from clearing.services.keys import hash_key

STATIC = TEMPLATES.with_name("static")
#: The pinned npm files the console serves, by the name pages load them under (relative to node_modules).
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "ethers.umd.min.js": "ethers/dist/ethers.umd.min.js",
}
#: Where each role lands after signing in.
HOME = {"operator": "/ui/members", "member": "/ui/me", "auditor": "/ui/audit"}


def create_console(parent: FastAPI) -> FastAPI:
    ui = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    ui.state.parent = parent
    ui.state.console = None

    async def clearing_error(request: Request, exc: ClearingError) -> Response:
        con = console_of(request)
        return await run_in_threadpool(error_page, con, request, exc, status_of(exc))

    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        if request.headers.get("HX-Request"):
            return PlainTextResponse("signed out", status_code=401, headers={"HX-Redirect": "/ui/signin"})
        if request.method != "GET":
            return PlainTextResponse("sign in first", status_code=401, headers=HEADERS)
        return RedirectResponse("/ui/signin", status_code=303, headers=HEADERS)

    ui.add_exception_handler(ClearingError, clearing_error)  # type: ignore[arg-type]
    ui.add_exception_handler(SignInNeeded, sign_in_needed)  # type: ignore[arg-type]
    for router in (operator.router, member.router, auditor.router):
        ui.include_router(router)
    _auth_routes(ui)
    _asset_routes(ui)
    return ui


def _signin_page(con: Console, *, message: str | None = None, status: int = 200) -> Response:
    token, cookie = pre_token(con.signer)
    r = con.page("signin.html", None, http_status=status, csrf=token, message=message)
    put_cookie(r, PRE_COOKIE, cookie, PRE_SECONDS, secure=con.secure_cookie)
    return r


def _auth_routes(ui: FastAPI) -> None:
    @ui.get("/", include_in_schema=False)
    def home(request: Request, con: ConsoleDep) -> Response:
        s = current(request, con)
        return RedirectResponse(HOME[s.principal.role] if s else "/ui/signin", status_code=303, headers=HEADERS)

    @ui.get("/signin", include_in_schema=False)
    def signin_form(con: ConsoleDep) -> Response:
        return _signin_page(con)

    @ui.post("/signin", include_in_schema=False)
    def signin(request: Request, con: ConsoleDep, form: FormDep) -> Response:
        if not pre_token_ok(con.signer, request.cookies.get(PRE_COOKIE), form.get("csrf")):
            raise Forbidden("the sign-in form's CSRF token is missing or wrong: reload the page", field="csrf")
        key = form.get("api_key", "").strip()
        client = request.client.host if request.client is not None else "unknown"
        try:
            p = api_keys.authenticate(con.ctx, key, client) if key else None
        except ClearingError as exc:  # unknown, revoked or expired key; throttled client
            return _signin_page(con, message=exc.message, status=status_of(exc))
        if p is None:
            return _signin_page(con, message="enter an API key", status=422)
        if p.role not in HOME:
            return _signin_page(con, message=f"the console has no pages for a {p.role} key", status=403)
        s = new_session(p, hash_key(key), con.session_hours)
        r = RedirectResponse(HOME[p.role], status_code=303, headers=HEADERS)
        put_cookie(r, COOKIE, encode(con.signer, s), int(con.session_hours * 3600), secure=con.secure_cookie)
        r.delete_cookie(PRE_COOKIE, path="/ui")
        return r

    @ui.post("/signout", include_in_schema=False)
    def signout(request: Request, con: ConsoleDep, form: FormDep) -> Response:
        s = current(request, con)
        if s is not None:
            check_csrf(s, form)
        r = RedirectResponse("/ui/signin", status_code=303, headers=HEADERS)
        r.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")
        return r


def _asset_routes(ui: FastAPI) -> None:
    @ui.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(path, headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})

    @ui.get("/vendor/{name}", include_in_schema=False)
    def vendor(name: str, con: ConsoleDep) -> Response:
        rel = VENDOR.get(name)
        path = None if rel is None or con.assets is None else con.assets / rel
        if path is None or not path.is_file():
            return PlainTextResponse(f"{name} is not installed: run ./scripts/setup.sh (npm ci)", status_code=404)
        return FileResponse(path, headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})

    @ui.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return HTMLResponse(status_code=204)
