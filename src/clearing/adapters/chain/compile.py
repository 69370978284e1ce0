"""Compile the Solidity sources with the offline solc wrapper into shipped artifacts.

The service never needs a compiler: ``clearing contracts build`` writes ABI,
bytecode and metadata into ``artifacts/`` inside the package, and a test
recompiles and fails if they drift. forge (foundry.toml) and brownie
(brownie-config.yaml) use the same wrapper and the same settings below.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from clearing.errors import ClearingError

REPO_ROOT = Path(__file__).resolve().parents[4]
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
SOLC_WRAPPER = REPO_ROOT / "tools" / "solc"

#: Contracts shipped as artifacts: deployed ones plus the dev-only token and test collections (ERC-721, ERC-1155).
SHIPPED = {
    "ClearingHouse": "contracts/ClearingHouse.sol",
    "OrderEscrow": "contracts/OrderEscrow.sol",
    "AssetVault": "contracts/AssetVault.sol",
    "SettlementToken": "contracts/test/SettlementToken.sol",
    "TestCollectible": "contracts/test/TestCollectible.sol",
    "TestGameItems": "contracts/test/TestGameItems.sol",
}

#: One place for the settings every toolchain shares (see foundry.toml).
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 100},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}},
}


class CompileError(ClearingError):
    code = "compile-error"


def _standard_input(sources: dict[str, str]) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {unit: {"content": (REPO_ROOT / path).read_text()} for unit, path in sources.items()},
        "settings": COMPILER_SETTINGS,
    }


def compile_sources(sources: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Compile ``{unit name: repo-relative path}``; returns artifacts by contract name."""
    import solcx  # imported here so the service runs without it being configured

    paths = sources or {p: p for p in SHIPPED.values()}
    if not SOLC_WRAPPER.exists():
        raise CompileError(f"solc wrapper missing at {SOLC_WRAPPER}")
    if not (REPO_ROOT / "node_modules" / "solc").exists():
        raise CompileError("node_modules/solc missing: run `npm ci` at the repository root")
    out = solcx.compile_standard(
        _standard_input(paths),
        base_path=str(REPO_ROOT),
        allow_paths=[str(REPO_ROOT), str(REPO_ROOT / "node_modules")],
        solc_binary=str(SOLC_WRAPPER),
    )
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("; ".join(e.get("formattedMessage", e["message"]) for e in errors))
    version = json.loads(next(iter(next(iter(out["contracts"].values())).values()))["metadata"])["compiler"]["version"]
    artifacts: dict[str, dict[str, Any]] = {}
    for unit, contracts in out["contracts"].items():
        for name, c in contracts.items():
            artifacts[name] = {
                "contractName": name,
                "sourceName": unit,
                "abi": c["abi"],
                "bytecode": "0x" + c["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
                "metadata": c["metadata"],
                "compiler": {"version": version, "settings": COMPILER_SETTINGS},
            }
    return artifacts


def _render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def build(check: bool = False) -> dict[str, str]:
    """Write (or with ``check``, compare) the shipped artifacts; returns name → sha256.

    With ``check`` raises ``CompileError`` naming the first artifact that differs.
    """
    compiled = compile_sources()
    hashes: dict[str, str] = {}
    for name in SHIPPED:
        text = _render(compiled[name])
        target = ARTIFACTS_DIR / f"{name}.json"
        if check:
            if not target.exists() or target.read_text() != text:
                raise CompileError(
                    f"shipped artifact {target.name} differs from a fresh compile; run `clearing contracts build`"
                )
        else:
            ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        hashes[name] = hashlib.sha256(text.encode()).hexdigest()
    return hashes


def load_artifact(name: str) -> dict[str, Any]:
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.exists():
        raise CompileError(f"artifact {name} not shipped; run `clearing contracts build`")
    return json.loads(path.read_text())


def artifacts_hash() -> str:
    """One hash over every shipped artifact, recorded in deployment files."""
    h = hashlib.sha256()
    for name in sorted(SHIPPED):
        h.update((ARTIFACTS_DIR / f"{name}.json").read_bytes())
    return "0x" + h.hexdigest()
