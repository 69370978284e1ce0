// Verifies an obligation's Merkle proof in the browser against the house contract, over the chain's RPC.
// Leaf encoding as src/clearing/domain/merkle.py and ClearingHouse.verifyObligation (OpenZeppelin
// StandardMerkleTree: double-hashed leaf, sorted pairs):
//   key  = keccak256(abi.encode(address submitter, string id))   (legacy: keccak256(utf8(id)))
//   leaf = keccak256(keccak256(abi.encode(uint64 cycleId, bytes32 key, address debtor, address creditor, uint256 amount)))
"use strict";
(function () {
  const ABI = [
    "function cycleOf(uint64 cycleId) view returns (tuple(bytes32 root, uint256 grossValue, uint256 escrowed, uint32 obligationCount, uint64 committedAt, uint64 claimableAt, uint64 heldUntil, uint8 status, bytes32 deltasHash))",
    "function verifyObligation(uint64 cycleId, bytes32 obligationId, address debtor, address creditor, uint256 amount, bytes32[] proof) view returns (bool)",
  ];

  function recompute(p) {
    const { AbiCoder, concat, id, keccak256 } = window.ethers;
    const abi = AbiCoder.defaultAbiCoder();
    const key = p.key_scheme === "legacy"
      ? id(p.obligation_id)
      : keccak256(abi.encode(["address", "string"], [p.submitter, p.obligation_id]));
    const leaf = keccak256(keccak256(abi.encode(
      ["uint64", "bytes32", "address", "address", "uint256"], [p.cycle_id, key, p.debtor, p.creditor, BigInt(p.amount)])));
    const root = p.proof.reduce((node, sib) => keccak256(node < sib ? concat([node, sib]) : concat([sib, node])), leaf);
    return { key, leaf, root };
  }

  function show(valid, text, checks) {
    const out = document.getElementById("verify-result");
    out.textContent = text;
    out.className = valid ? "ok" : "error";
    out.dataset.verdict = valid ? "valid" : "invalid";
    const list = document.getElementById("verify-checks");
    list.replaceChildren(...checks.map(([ok, what]) => {
      const li = document.createElement("li");
      li.textContent = (ok ? "✓ " : "✗ ") + what;
      return li;
    }));
  }

  async function verify(event) {
    event.preventDefault();
    const form = event.target;
    const out = document.getElementById("verify-result");
    out.textContent = "checking…";
    out.dataset.verdict = "";
    let p;
    try {
      p = JSON.parse(form.proof.value);
      if (!Array.isArray(p.proof)) throw new Error("no proof array");
    } catch (e) {
      show(false, "invalid: the proof is not a proof JSON (" + e.message + ")", []);
      return;
    }
    let mine;
    try {
      mine = recompute(p);
    } catch (e) {
      show(false, "invalid: cannot recompute the leaf (" + e.message + ")", []);
      return;
    }
    try {
      const provider = new window.ethers.JsonRpcProvider(form.rpc_url.value, undefined, { staticNetwork: true });
      const house = new window.ethers.Contract(form.house.value, ABI, provider);
      const chainId = (await provider.send("eth_chainId", [])).toString();
      const onChain = (await house.cycleOf(p.cycle_id)).root;
      const byContract = await house.verifyObligation(p.cycle_id, mine.key, p.debtor, p.creditor, BigInt(p.amount), p.proof);
      const checks = [
        [mine.key === p.obligation_key, "obligation key recomputed from submitter and id"],
        [mine.leaf === p.leaf, "leaf recomputed from the obligation's fields"],
        [mine.root === onChain, "root folded from the leaf and proof equals the root committed on chain (" + onChain + ")"],
        [p.root === onChain, "the proof's root is the committed one"],
        [byContract === true, "the house contract's verifyObligation agrees"],
        [BigInt(chainId) === BigInt(p.chain_id), "chain id " + BigInt(chainId) + " is the proof's"],
      ];
      const valid = checks.every(([ok]) => ok);
      show(valid, valid ? "valid: obligation " + p.obligation_id + " is in cycle " + p.cycle_id + "'s committed root"
        : "invalid: the proof does not match the chain", checks);
    } catch (e) {
      show(false, "invalid: could not check against the chain (" + (e.shortMessage || e.message) + ")", []);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("verify-form").addEventListener("submit", verify);
    document.getElementById("verify-button").disabled = false;
  });
})();
