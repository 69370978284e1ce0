"""The cycle routes on a real chain: what an operator sees before and after settling."""

from __future__ import annotations

from fastapi.testclient import TestClient

from clearing.adapters.chain import backends
from clearing.api.app import create_app
from clearing.services import submission
from clearing.services.cycles import CycleService
from clearing.services.submission import ObligationInput
from clearing.settings import ApiSettings, Settings
from tests.api.conftest import OPERATOR_KEY
from tests.services.conftest import build_house

SPEC = [("alpha", "A", 5_000_000, 0), ("beta", "A", 3_000_000, 0)]
OP = {"Authorization": f"Bearer {OPERATOR_KEY}"}


def _house(db_url: str):
    settings = Settings(database_url=db_url, api=ApiSettings(operator_key=OPERATOR_KEY, auth_cache_seconds=0))
    return build_house(db_url, backends.embedded(), SPEC, settings)


def _submit(house) -> None:
    items = [
        ObligationInput(id="o1", debtor="alpha", creditor="beta", amount=700_000),
        ObligationInput(id="o2", debtor="alpha", creditor="beta", amount=100_000),
        ObligationInput(id="huge", debtor="alpha", creditor="beta", amount=10**30),  # held by a risk rule
    ]
    submission.submit(house.ctx, house.principals["alpha"], items, batch=True)
    submission.submit(
        house.ctx,
        house.principals["beta"],
        [ObligationInput(id="o3", debtor="beta", creditor="alpha", amount=300_000)],
        batch=False,
    )


def test_open_cycle_counts_what_is_pending_and_settle_names_its_transaction(db):
    """Issue 8 item 21: ``POST /cycles`` showed 0 obligations while 3 waited; a one-call settle showed no release tx."""
    house = _house(db.url)
    _submit(house)
    with TestClient(create_app(house.ctx), raise_server_exceptions=False) as client:
        opened = client.post("/cycles", headers=OP).json()
        assert opened["state"] == "OPEN"
        assert opened["obligations"] == 3 and opened["gross"] == str(1_100_000)
        assert opened["pending"] == {"accepted": 3, "held": 1}
        settled = client.post(f"/cycles/{opened['id']}/settle", headers=OP).json()
        assert settled["state"] == "SETTLED" and settled["obligations"] == 3 and settled["pending"] == {}
        # settleCycle committed and released in one transaction: that transaction is the release.
        assert settled["commit_tx_hash"] and settled["release_tx_hash"] == settled["commit_tx_hash"]
        receipt = house.contracts.chain.w3.eth.get_transaction_receipt(settled["release_tx_hash"])
        assert receipt["status"] == 1
        assert client.get(f"/cycles/{opened['id']}", headers=OP).json() == settled
        nxt = client.post("/cycles", headers=OP).json()
        assert nxt["id"] != opened["id"] and nxt["obligations"] == 0 and nxt["pending"] == {"held": 1}


def test_two_step_settle_names_the_release_transaction(db):
    house = _house(db.url)
    _submit(house)
    view = CycleService(house.ctx.sessions, house.contracts, one_step=False).settle()
    assert view.state == "SETTLED" and view.commit_tx_hash and view.release_tx_hash
    assert view.release_tx_hash != view.commit_tx_hash
    released = [
        e
        for e in house.contracts.house.events(house.contracts.deployment.block)
        if e.name == "CycleReleased" and e.args["cycleId"] == view.id
    ]
    assert released and {e.tx_hash for e in released} == {view.release_tx_hash}
