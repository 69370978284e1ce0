"""RFC 9457 problem details for every error: ClearingError, validation, HTTP, and the unexpected."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from clearing.domain.amounts import as_json_values
from clearing.domain.errors import NettingInfeasible
from clearing.errors import (
    BatchRejected,
    ChainError,
    ClearingError,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationError,
)

log = logging.getLogger(__name__)
MEDIA = "application/problem+json"

#: HTTP status of each error family; an error takes the entry of its nearest listed ancestor.
STATUS: dict[type[ClearingError], int] = {
    ClearingError: 400,
    ValidationError: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    NettingInfeasible: 500,
    TooManyRequests: 429,
    ChainError: 502,
    ServiceUnavailable: 503,
}


def status_of(exc: ClearingError) -> int:
    """The HTTP status the API answers ``exc`` with."""
    if isinstance(exc, BatchRejected) and exc.all_conflicts:
        return 409
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    request: Request | None = None,
    field: str | None = None,
    values: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": code.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else None,
        "code": code,
        "field": field,
        "values": as_json_values(values or {}),
        "errors": errors or [],
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'items', 3, 'amount') -> 'items[3].amount'."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


async def _clearing_error(request: Request, exc: ClearingError) -> JSONResponse:
    errors = exc.items if isinstance(exc, BatchRejected) else None
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status in (429, 503) and "retry_after" in exc.values:
        headers = {"Retry-After": str(exc.values["retry_after"])}
    return problem(
        status,
        exc.code,
        exc.message,
        request=request,
        field=exc.field,
        values=exc.values,
        errors=errors,
        headers=headers,
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        item: dict[str, Any] = {"field": field_path(loc), "detail": _message(e), "code": e.get("type")}
        # Batch items: say which one.
        if len(loc) >= 3 and loc[0] == "body" and loc[1] == "items" and isinstance(loc[2], int):
            item["index"] = loc[2]
        errors.append(item)
    first = errors[0] if errors else {"field": None, "detail": "invalid request"}
    bad_items = sorted({e["index"] for e in errors if "index" in e})
    detail = (
        first["detail"]
        if len(errors) == 1
        else f"{len(errors)} invalid fields; first: {first['field']}: {first['detail']}"
    )
    if bad_items:
        detail = (
            f"{len(bad_items)} item(s) of the batch are invalid; nothing was recorded. "
            f"First: {first['field']}: {first['detail']}"
        )
    return problem(
        422,
        "validation-error",
        detail,
        request=request,
        field=first["field"],
        errors=errors[:1000],
        values={"invalid_items": bad_items[:1000]} if bad_items else None,
    )


def _message(e: dict[str, Any]) -> str:
    msg = str(e.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 403: "forbidden"}.get(
        exc.status_code, "http-error"
    )
    return problem(exc.status_code, code, str(exc.detail), request=request, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal-error", "internal error; the request was not applied", request=request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClearingError, _clearing_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
