"""Operator commands that act through the running server (`clearing cycles`, `clearing disputes`, ...).

The server is the one process that signs with the operator key and writes
the audit log, so these commands are thin HTTP clients of it: each action is
the route the API documents, audited under the operator key. A group stores
the server's URL and the key in its click context (:func:`connect`); its
commands send one request each (:func:`call`) and print the JSON answer.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

KEY_ENV = "CLEARING_API__OPERATOR_KEY"
#: What a command of such a group reads besides its options (the group's --url and --key read theirs).
READS = ("CLEARING_API__HOST", "CLEARING_API__PORT", KEY_ENV)


URL_HELP = "The server (default http://CLEARING_API__HOST:CLEARING_API__PORT)."

F = TypeVar("F", bound=Callable[..., Any])


def server_options(f: F) -> F:
    """``--url`` and ``--key`` for a command (or group) that is a client of the running server (pass both to
    :func:`connect`); each says in ``--help`` which variable it reads."""
    f = click.option("--key", envvar=KEY_ENV, show_envvar=True, default=None, help="An operator API key.")(f)
    return click.option("--url", envvar="CLEARING_API__URL", show_envvar=True, default=None, help=URL_HELP)(f)


def connect(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Remember the server (``CLEARING_API__URL``, default ``http://CLEARING_API__HOST:CLEARING_API__PORT``) and
    the key for ``call``."""
    if url is None:
        from clearing.settings import get_settings

        api = get_settings().api
        url = api.url or f"http://{api.host}:{api.port}"
    ctx.obj = {"url": url.rstrip("/"), "key": key}


def call(
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    *,
    needs_key: bool = True,
) -> None:
    """Send one request with the operator key and print the JSON answer (``needs_key=False``: a public route,
    sent with the key only if one was given).

    A refusal prints one line and exits 2 (4xx: the request was wrong) or 1 (the server or chain failed).
    """
    import httpx

    obj = click.get_current_context().obj
    if needs_key and not obj["key"]:
        raise click.UsageError(f"an operator key is needed: --key or {KEY_ENV}")
    try:
        r = httpx.request(
            method,
            obj["url"] + path,
            json=body,
            params={k: v for k, v in (params or {}).items() if v is not None},
            headers={"Authorization": f"Bearer {obj['key']}"} if obj["key"] else {},
            timeout=300,
        )
    except httpx.HTTPError as exc:
        click.echo(f"error: cannot reach the server at {obj['url']}: {exc}", err=True)
        sys.exit(1)
    if r.status_code >= 400:
        try:
            problem = r.json()
            detail = f"{problem.get('detail')} ({r.status_code} {problem.get('code')})"
        except ValueError:
            detail = f"{r.status_code} {r.text[:200]}"
        click.echo(f"error: {detail}", err=True)
        sys.exit(2 if r.status_code < 500 else 1)
    click.echo(json.dumps(r.json(), indent=2))
