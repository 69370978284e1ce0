"""The pure clearing core: plain frozen dataclasses in and out, no I/O, integers only.

Modules:

- :mod:`~clearing.domain.types` — :class:`Obligation` (input order is FIFO order);
- :mod:`~clearing.domain.netting` — multilateral/bilateral net positions, a vectorised exact path;
- :mod:`~clearing.domain.liquidity` — liquidity-saving settlement (HiGHS LP/MILP, Ubin baseline), a module per solver;
- :mod:`~clearing.domain.setoff` — zero-cash multilateral set-off (min-cost flow);
- :mod:`~clearing.domain.merkle` — OpenZeppelin-compatible leaves, trees and proofs;
- :mod:`~clearing.domain.credit` — explainable credit score, tier and credit line;
- :mod:`~clearing.domain.risk` — hold rules and the per-tier hold policy;
- :mod:`~clearing.domain.velocity` — a debtor's obligations per second, the window the velocity rules read;
- :mod:`~clearing.domain.headroom` — headroom and exact top-up;
- :mod:`~clearing.domain.errors` — the specific errors all of these raise.

Every function validates its input first and raises a subclass of
:class:`clearing.errors.ValidationError` naming the bad field, then computes.
"""
