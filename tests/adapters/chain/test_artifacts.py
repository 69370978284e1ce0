"""The shipped artifacts are exactly what the sources compile to."""

from clearing.adapters.chain.compile import build


def test_shipped_artifacts_match_a_fresh_compile():
    hashes = build(check=True)  # raises CompileError naming the stale artifact
    assert set(hashes) == {
        "ClearingHouse",
        "OrderEscrow",
        "AssetVault",
        "SettlementToken",
        "TestCollectible",
        "TestGameItems",
    }
