"""Schemathesis hooks for tests/api/test_fuzz_openapi.py (loaded through ``schemathesis.toml``).

Schemathesis' ``positive_data_acceptance`` fails any schema-valid request answered
422, but a 422 can be the answer to a well-formed request that breaks a business
rule no schema can state (the debtor names no member, the creditor sent no
signature). Our problems say which it is: request validation answers
``code: validation-error``, a business rule its own code (``unknown-member``,
``invalid-signature``, ...). This check runs the built-in one and lets a
business answer through; a schema-valid request refused by request validation
still fails it.
"""

from __future__ import annotations

import schemathesis
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import positive_data_acceptance

SCHEMA_REFUSAL = "validation-error"


def business_answer(response) -> bool:
    """A 422 problem that names a business rule, for the whole request or for each bad batch item."""
    if response.status_code != 422:
        return False
    try:
        problem = response.json()
    except ValueError:
        return False
    codes = [item.get("code") for item in problem.get("errors", [])] if problem.get("code") == "batch-rejected" else []
    return problem.get("code") != SCHEMA_REFUSAL and SCHEMA_REFUSAL not in codes


@schemathesis.check
def positive_data_acceptance_except_business_rules(ctx, response, case):
    """``positive_data_acceptance``, less 422s that answer a business rule (see the module docstring)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except Failure:
        if business_answer(response):
            return None
        raise


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    """Keep each generated path value as generated: schemathesis unquotes a path value before quoting it
    (its ``transport/serialization.py``, to keep quoting idempotent), so a generated ``%ff``, valid text for
    the declared pattern, would reach the server as the byte 0xFF (U+FFFD, which the pattern refuses), and
    the refusal would test that encoding, not the house. Escaping ``%`` first makes it arrive as generated."""
    if not path_parameters:
        return path_parameters
    return {k: v.replace("%", "%25") if isinstance(v, str) else v for k, v in path_parameters.items()}
