"""Schemathesis against the live app with the auditor's key (see ``test_fuzz_openapi.py``)."""

from __future__ import annotations

import pytest

from tests.api.test_fuzz_openapi import fuzz_as


@pytest.mark.slow
@pytest.mark.postgres
def test_schemathesis_finds_nothing_as_the_auditor(pg_db, tmp_path):
    fuzz_as("auditor", pg_db, tmp_path)
