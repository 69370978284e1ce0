"""RFC 9457 problem details for every error: ClearingError, validation, HTTP, and the unexpected."""

from __future__ import annotations

import logging
import re
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
    code = {
        400: "bad-request",
        404: "not-found",
        405: "method-not-allowed",
        401: "unauthorized",
        403: "forbidden",
    }.get(exc.status_code, "http-error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem(exc.status_code, code, str(exc.detail), request=request, headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document declares for this path (Starlette's 405 names one route's only)."""
    paths = request.app.openapi().get("paths", {})
    if request.url.path in paths:  # a literal route wins over a template it also matches (/members/me/keys)
        return sorted(method.upper() for method in paths[request.url.path])
    for template, item in paths.items():
        pattern = "[^/]+".join(re.escape(part) for part in re.split(r"\{[^/}]+\}", template))
        if re.fullmatch(pattern, request.url.path):
            return sorted(method.upper() for method in item)
    return []


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal-error", "internal error; the request was not applied", request=request)


_PROBLEM_CONTENT = {MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def declare_problems(doc: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the handlers above answer (in place; returns ``doc``).

    Every error response is ``application/problem+json`` with the ``Problem`` schema (FastAPI
    would list it as ``application/json``, and its own 422 as ``HTTPValidationError``);
    every operation behind a key declares 401 and 403, every one with parameters or a
    body declares 422, and every one with a body 400 (a body that is not JSON text).
    """
    for item in doc.get("paths", {}).values():
        for op in item.values():
            responses = op.setdefault("responses", {})
            if op.get("security"):
                responses.setdefault("401", {"description": "Missing or unknown API key"})
                responses.setdefault("403", {"description": "Not allowed for this key"})
            if op.get("parameters") or op.get("requestBody"):
                responses.setdefault("422", {})["description"] = "Invalid input; the problem names the field"
            if op.get("requestBody"):
                responses.setdefault("400", {"description": "The body is not JSON text (UTF-8)"})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = _PROBLEM_CONTENT
    schemas = doc.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's own 422 body, now undeclared
        schemas.pop(unused, None)
    return doc


def install(app: FastAPI) -> None:
    """Answer every error as a problem, and declare that in the app's OpenAPI document."""
    app.add_exception_handler(ClearingError, _clearing_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            declare_problems(generate())  # FastAPI caches the document it returns: amend it once
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
