"""Typed dependencies: the service context, a session, and who is calling.

Routes declare what they need with these aliases and stay thin::

    def get_obligation(id: str, ctx: ContextDep, me: CurrentMember) -> ObligationOut: ...
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clearing.domain.vocabulary import Role
from clearing.errors import Forbidden, Unauthorized
from clearing.services import api_keys
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.submission import GroupCommitter

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


async def get_context(request: Request) -> ServiceContext:
    # async: a plain attribute read must not cost a thread-pool hop per request
    return request.app.state.ctx  # type: ignore[no-any-return]


ContextDep = Annotated[ServiceContext, Depends(get_context)]


async def get_group_committer(request: Request) -> GroupCommitter | None:
    return request.app.state.group_committer  # type: ignore[no-any-return]


#: The server's group committer for single submissions (None: each request commits alone).
GroupDep = Annotated[GroupCommitter | None, Depends(get_group_committer)]


async def principal(
    request: Request, ctx: ContextDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing API key: send Authorization: Bearer <key>", field="authorization")
    key = credentials.credentials
    client = request.client.host if request.client is not None else "unknown"
    # No thread hop and no query for a cached key, a throttled client or a key known to be bad (429 / 401).
    found = api_keys.authenticate_cached(ctx, key, client)
    if found is None:
        found = await run_in_threadpool(api_keys.authenticate, ctx, key, client)
    return found


PrincipalDep = Annotated[Principal, Depends(principal)]


def _require(*roles: str):
    async def dependency(p: PrincipalDep) -> Principal:
        if p.role not in roles:
            raise Forbidden(
                f"this endpoint needs a {' or '.join(roles)} key; yours is a {p.role} key", field="authorization"
            )
        return p

    return dependency


#: A member key; the principal carries member id, name and address.
CurrentMember = Annotated[Principal, Depends(_require(Role.MEMBER))]
#: An operator key.
Operator = Annotated[Principal, Depends(_require(Role.OPERATOR))]
#: A member key or an operator key (webhooks: each its own endpoints; the operator sees all).
MemberOrOperator = Annotated[Principal, Depends(_require(Role.MEMBER, Role.OPERATOR))]
#: Read-only audit access: an auditor key (operators may read too).
Auditor = Annotated[Principal, Depends(_require(Role.AUDITOR, Role.OPERATOR))]
