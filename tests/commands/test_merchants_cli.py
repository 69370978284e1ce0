"""`clearing merchants ...` against a live server: a platform grants a line signed locally with its key, a
merchant signs a purchase, the platform reads the statement and records a repayment; errors in one line."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
from eth_account import Account

from clearing.adapters.chain import backends
from clearing.api.app import create_app
from tests.api.conftest import OPERATOR_KEY, api_house, serve
from tests.api.test_financing_api import ALPHA, BETA, financing_house
from tests.commands.cli_runner import run_clearing
from tests.conftest import admit_member


def _clearing(url: str, key: str, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    return run_clearing(url, *args, operator_key=None, env={"CLEARING_API__MEMBER_KEY": key, **env_extra})


def test_merchants_commands(sqlite_db):
    ctx = api_house(sqlite_db)
    b = admit_member(ctx, "bplat", collateral=10**12)
    a = admit_member(ctx, "aplat", collateral=10**12)
    m = Account.create()
    with serve(create_app(ctx)) as url:
        pk = {"CLEARING_API__SIGNING_KEY": b.account.key.hex()}
        ran = _clearing(url, b.api_key, "merchants", "grant", "m-7", "--signer", m.address, "--limit", "500", **pk)
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout)["line"]["limit"] == "500" and json.loads(ran.stdout)["line"]["nonce"] == "1"
        raised = _clearing(url, b.api_key, "merchants", "grant", "m-7", "--signer", m.address, "--limit", "800", **pk)
        assert json.loads(raised.stdout)["line"] | {} == json.loads(raised.stdout)["line"] and raised.returncode == 0
        assert json.loads(raised.stdout)["line"]["nonce"] == "2"
        # Signed by another key than the platform's registered address: refused, one line, exit 2.
        forged = _clearing(
            url, b.api_key, "merchants", "grant", "m-8", "--signer", m.address, "--limit", "1",
            CLEARING_API__SIGNING_KEY=m.key.hex(),
        )  # fmt: skip
        assert forged.returncode == 2 and forged.stderr.count("\n") == 1 and "422" in forged.stderr

        fields = ["--id", "buy-1", "--debtor", b.account.address, "--creditor", a.account.address, "--amount", "300"]
        signed = _clearing(
            url,
            "",
            "merchants",
            "sign-purchase",
            *fields,
            "--merchant",
            "m-7",
            CLEARING_API__SIGNING_KEY=m.key.hex(),
        )
        assert signed.returncode == 0, signed.stderr
        merchant_signature = json.loads(signed.stdout)["merchant_signature"]
        debtor_sig = _clearing(
            url,
            "",
            "merchants",
            "sign-purchase",
            *fields,
            "--merchant",
            "m-7",
            CLEARING_API__SIGNING_KEY=b.account.key.hex(),
        )  # fmt: skip  (the same typed data: the debtor's signature too)
        body = {
            "id": "buy-1",
            "debtor": "bplat",
            "creditor": "aplat",
            "amount": "300",
            "on_behalf_of": "m-7",
            "signature": json.loads(debtor_sig.stdout)["merchant_signature"],
            "merchant_signature": merchant_signature,
        }
        r = httpx.post(f"{url}/obligations", json=body, headers={"Authorization": f"Bearer {a.api_key}"}, timeout=30)
        assert r.status_code == 201, r.text

        listed = json.loads(_clearing(url, b.api_key, "merchants", "list").stdout)
        assert [(x["merchant"], x["used"], x["available"]) for x in listed] == [("m-7", "300", "500")]
        repaid = _clearing(url, b.api_key, "merchants", "repay", "m-7", "--id", "r-1", "--amount", "100")
        assert repaid.returncode == 0 and json.loads(repaid.stdout)["line"]["used"] == "200"
        st = json.loads(_clearing(url, b.api_key, "merchants", "statement", "m-7").stdout)
        assert [(e["kind"], e["id"], e.get("creditor")) for e in st["entries"]] == [
            ("purchase", "buy-1", "aplat"),
            ("repayment", "r-1", None),
        ]
        assert json.loads(_clearing(url, b.api_key, "merchants", "freeze", "m-7").stdout)["status"] == "frozen"
        shown = _clearing(url, OPERATOR_KEY, "merchants", "show", "m-7", "--member", "bplat")
        assert json.loads(shown.stdout)["status"] == "frozen"
        missing = _clearing(url, a.api_key, "merchants", "show", "m-7")
        assert missing.returncode == 2 and "404" in missing.stderr and missing.stderr.count("\n") == 1
        no_key = _clearing(url, "", "merchants", "list")
        assert no_key.returncode == 2 and "CLEARING_API__MEMBER_KEY" in no_key.stderr


@pytest.mark.anvil
def test_a_merchant_purchase_settles_on_anvil_and_is_audited(sqlite_db):
    """Platform beta grants its merchant a line (signed by beta's key), the merchant buys on alpha: alpha's
    obligation ``beta owes alpha`` on behalf of the merchant settles in a cycle on Anvil, and the audit passes."""
    with backends.spawn_anvil() as chain:
        for h in financing_house(sqlite_db, 0, chain):
            b, a = h.accounts[BETA], h.accounts[ALPHA]
            m = Account.create()
            with serve(create_app(h.ctx)) as url:
                pk = {"CLEARING_API__SIGNING_KEY": b.key.hex()}
                ran = _clearing(
                    url, h.keys[BETA], "merchants", "grant", "m-1", "--signer", m.address, "--limit", "900", **pk
                )
                assert ran.returncode == 0, ran.stderr
                fields = ["--id", "buy-1", "--debtor", b.address, "--creditor", a.address, "--amount", "700"]
                sigs = [
                    _clearing(
                        url,
                        "",
                        "merchants",
                        "sign-purchase",
                        *fields,
                        "--merchant",
                        "m-1",
                        CLEARING_API__SIGNING_KEY=key.hex(),
                    )  # fmt: skip
                    for key in (m.key, b.key)
                ]
                assert all(s.returncode == 0 for s in sigs), [s.stderr for s in sigs]
                merchant_sig, debtor_sig = (json.loads(s.stdout)["merchant_signature"] for s in sigs)
                body = {"id": "buy-1", "debtor": BETA, "creditor": ALPHA, "amount": "700", "on_behalf_of": "m-1",
                        "signature": debtor_sig, "merchant_signature": merchant_sig}  # fmt: skip
                before = h.balance(ALPHA), h.balance(BETA)
                r = h.post(ALPHA, "/obligations", body)
                assert r.status_code == 201, r.text
                cid = h.post("operator", "/cycles").json()["id"]
                assert h.post("operator", f"/cycles/{cid}/settle").json()["state"] == "SETTLED"
                assert (h.balance(ALPHA), h.balance(BETA)) == (before[0] + 700, before[1] - 700)
                st = json.loads(_clearing(url, h.keys[BETA], "merchants", "statement", "m-1").stdout)
                assert [(e["kind"], e["id"], e.get("creditor")) for e in st["entries"]] == [
                    ("purchase", "buy-1", ALPHA)
                ]
                report = h.get("auditor", "/audit/verify").json()
                assert report["ok"] is True, report["mismatches"]
