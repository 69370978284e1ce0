"""Issue 8 item 10: obligation ids are idempotency keys scoped to the submitting member (Stripe's convention).

Before, ids were global: beta submitting an id alpha had used got 409 (so beta
learned alpha had used it, and alpha could take ids beta would use). Now each
member's ids are its own: the same id from two members is two obligations,
each with its own key ``keccak256(abi.encode(address submitter, string id))``;
both settle in one cycle under distinct leaves, and each proof verifies with
the house's verifier, the contract, and ethers alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from eth_abi import encode
from eth_utils import keccak
from sqlalchemy import update

from clearing.adapters.db.models import Obligation
from clearing.domain.merkle import verify_proof
from clearing.services.audit import check_proof
from tests.conftest import ROOT

X = "shared-id-1"


def _submit(h, who: str, debtor: str, creditor: str, amount: int):
    return h.post(who, "/obligations", {"id": X, "debtor": debtor, "creditor": creditor, "amount": str(amount)})


def _get(h, who: str, query: str = ""):
    return h.get(who, f"/obligations/{X}{query}")


def _key(address: str, oid: str) -> str:
    """Independent of the house's code: eth_abi's encoding."""
    return "0x" + keccak(encode(["address", "string"], [address, oid])).hex()


def test_two_members_use_one_id_and_both_settle_with_proofs(chain_house, tmp_path):
    h = chain_house
    alpha, beta = h.accounts["alpha"].address, h.accounts["beta"].address

    first = _submit(h, "alpha", "alpha", "beta", 300_000)
    assert first.status_code == 201, first.text
    theirs = _submit(h, "beta", "beta", "alpha", 500_000)
    assert theirs.status_code == 201, theirs.text  # was 409: alpha had used the id
    a, b = first.json()["obligation"], theirs.json()["obligation"]
    assert (a["submitter"], b["submitter"]) == ("alpha", "beta")
    assert (a["obligation_key"], b["obligation_key"]) == (_key(alpha, X), _key(beta, X))

    # Each member's retry is idempotent and sees its own obligation; another body is its own conflict.
    again = _submit(h, "alpha", "alpha", "beta", 300_000)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["obligation"] == a
    conflict = _submit(h, "alpha", "alpha", "beta", 300_001)
    assert conflict.status_code == 409 and conflict.json()["field"] == "id"
    assert _submit(h, "beta", "beta", "alpha", 500_000).json()["obligation"] == b

    # Reads: a member's own first, the counterparty's by naming it; the house must name one.
    assert _get(h, "alpha").json()["obligation_key"] == a["obligation_key"]
    assert _get(h, "beta").json()["obligation_key"] == b["obligation_key"]
    assert _get(h, "alpha", "?submitter=beta").json()["obligation_key"] == b["obligation_key"]
    for who in ("auditor", "operator"):
        ambiguous = _get(h, who)
        assert ambiguous.status_code == 422 and ambiguous.json()["field"] == "submitter", ambiguous.text
        assert ambiguous.json()["values"]["submitters"] == ["alpha", "beta"]
        assert _get(h, who, "?submitter=alpha").json() == a
        assert _get(h, who, f"?submitter={beta.lower()}").json() == b
    assert _get(h, "auditor", "?submitter=nobody").status_code == 404

    # Both settle in one cycle, under distinct leaves.
    cycle = h.post("operator", "/cycles", None).json()["id"]
    settled = h.post("operator", f"/cycles/{cycle}/settle", None)
    assert settled.status_code == 200 and settled.json()["state"] == "SETTLED", settled.text
    assert settled.json()["settled"] == 2
    assert settled.json()["positions"] == {"alpha": "200000", "beta": "-200000"}
    assert h.get("auditor", "/audit/verify").json()["ok"] is True

    assert h.get("auditor", f"/audit/obligations/{X}/proof").status_code == 422
    proofs = {}
    for who, address, amount in (("alpha", alpha, 300_000), ("beta", beta, 500_000)):
        r = h.get("auditor", f"/audit/obligations/{X}/proof?submitter={who}")
        assert r.status_code == 200, r.text
        p = proofs[who] = r.json()
        assert (p["obligation_id"], p["submitter"], p["key_scheme"]) == (X, address, "submitter")
        assert p["obligation_key"] == _key(address, X) and p["amount"] == str(amount)
        assert check_proof(h.ctx.contracts.house, p) == []  # house verifier and ClearingHouse.verifyObligation
        leaf, root = bytes.fromhex(p["leaf"][2:]), bytes.fromhex(p["root"][2:])
        assert verify_proof([bytes.fromhex(s[2:]) for s in p["proof"]], root, leaf)
    assert proofs["alpha"]["leaf"] != proofs["beta"]["leaf"]
    assert proofs["alpha"]["root"] == proofs["beta"]["root"]

    # A proof whose submitter was swapped names another key: it is refused, never "valid".
    swapped = {**proofs["alpha"], "submitter": beta}
    assert check_proof(h.ctx.contracts.house, swapped)

    _verify_with_ethers(list(proofs.values()), tmp_path)


def readme_verifier() -> str:
    """README's ethers snippet that recomputes a proof ("Obligation ids, keys and leaves"), as written there."""
    text = (ROOT / "README.md").read_text()
    [code] = [m for m in re.findall(r"```js\n(.*?)```", text, re.S) if "proof recomputed" in m]
    return code


def _verify_with_ethers(proofs: list[dict], tmp_path) -> None:
    """What an outside integrator runs: ethers alone recomputes key and leaf from the proof file and folds it."""
    node = shutil.which("node")
    assert node, "node (Node.js 20) is a prerequisite"
    for i, proof in enumerate(proofs):
        path = tmp_path / f"proof-{i}.json"
        path.write_text(json.dumps(proof))
        done = subprocess.run(
            [node, "--input-type=module", "-"],
            input=readme_verifier(),
            env={**os.environ, "PROOF": str(path)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (done.returncode, done.stdout) == (0, "proof recomputed\n"), (done.stdout, done.stderr, proof)
        tampered = tmp_path / f"tampered-{i}.json"
        tampered.write_text(json.dumps({**proof, "obligation_id": proof["obligation_id"] + "x"}))
        done = subprocess.run(
            [node, "--input-type=module", "-"],
            input=readme_verifier(),
            env={**os.environ, "PROOF": str(tampered)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.stdout == "MISMATCH\n", (done.stdout, done.stderr)


def test_a_member_never_learns_of_another_members_id(chain_house):
    """No existence leak: an id another member used is 404 to a member that is no party to it, exactly as an
    id nobody used; and using it for itself is a plain 201."""
    h = chain_house
    h.add("gamma")
    assert _submit(h, "alpha", "alpha", "beta", 1_000).status_code == 201
    used, unused = _get(h, "gamma"), h.get("gamma", "/obligations/never-used")
    assert used.status_code == unused.status_code == 404
    assert used.json()["field"] == unused.json()["field"] == "id"
    assert _get(h, "gamma", "?submitter=alpha").status_code == 404
    r = _submit(h, "gamma", "gamma", "beta", 1_000)
    assert r.status_code == 201 and r.json()["replayed"] is False


@pytest.mark.parametrize("bad", ["Alpha", "a b", "-alpha", "0X" + "G" * 40, "x\x00y", "a" * 65])
def test_submitter_is_a_member_name_or_address(chain_house, bad):
    r = chain_house.client.get(f"/obligations/{X}", params={"submitter": bad}, headers=chain_house.headers("auditor"))
    assert r.status_code == 422 and r.json()["field"] == "submitter", r.text


def test_an_obligation_recorded_before_scoping_settles_and_proves_under_its_old_key(chain_house, tmp_path):
    """Migration 0004 gives rows already recorded their old key, keccak256(utf8(id)); one settled after it is
    committed, proved and verified under that key (``key_scheme`` legacy), by the house and by ethers."""
    h = chain_house
    assert _submit(h, "alpha", "alpha", "beta", 42_000).status_code == 201
    old = "0x" + keccak(text=X).hex()
    with h.ctx.uow() as uow:  # what the migration's backfill wrote for a row recorded before it
        uow.session.execute(update(Obligation).where(Obligation.id == X).values(obligation_key=old))
        uow.commit()
    cycle = h.post("operator", "/cycles", None).json()["id"]
    assert h.post("operator", f"/cycles/{cycle}/settle", None).json()["state"] == "SETTLED"
    assert h.get("auditor", "/audit/verify").json()["ok"] is True
    p = h.get("auditor", f"/audit/obligations/{X}/proof").json()
    assert (p["obligation_key"], p["key_scheme"]) == (old, "legacy")
    assert check_proof(h.ctx.contracts.house, p) == []
    assert (
        check_proof(h.ctx.contracts.house, {k: v for k, v in p.items() if k not in ("key_scheme", "submitter")}) == []
    )
    _verify_with_ethers([p], tmp_path)
    # An id edited in the ledger no longer derives to the committed key: the audit names it.
    with h.ctx.uow() as uow:
        uow.session.execute(update(Obligation).where(Obligation.id == X).values(id="edited"))
        uow.commit()
    report = h.get("auditor", "/audit/verify").json()
    assert report["ok"] is False and "not the key of its id and submitter" in report["mismatches"][0], report


def test_a_creditor_submission_is_keyed_by_the_creditor(house):
    """The submitter, not the debtor: beta submits with alpha's signature, so the id is beta's."""
    h = house
    body = {"id": X, "debtor": "alpha", "creditor": "beta", "amount": "70"}
    signed = body | {"signature": h.sign("alpha", id=X, creditor="beta", amount=70)}
    r = h.post("beta", "/obligations", signed)
    assert r.status_code == 201, r.text
    assert r.json()["obligation"]["submitter"] == "beta"
    assert r.json()["obligation"]["obligation_key"] == _key(h.accounts["beta"].address, X)
    # alpha's ids are its own: the same body under the same id is alpha's obligation, another key (README: an
    # obligation is submitted by one of its parties; both submitting it records it twice)
    mine = h.post("alpha", "/obligations", body)
    assert mine.status_code == 201 and mine.json()["obligation"]["obligation_key"] == _key(
        h.accounts["alpha"].address, X
    )
    assert h.get("alpha", f"/obligations/{X}").json()["submitter"] == "alpha"
    assert h.get("beta", f"/obligations/{X}").json()["submitter"] == "beta"
