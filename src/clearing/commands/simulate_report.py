"""``clearing simulate``'s report: PNG plots (matplotlib, Agg) and one offline HTML page that shows them.

The page loads nothing from outside: plain CSS inline, plots as ``<img src="name.png">`` beside it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from clearing.domain.simulation import INTERRUPTED, TOKEN, Simulation
from clearing.domain.simulation.treasury import FIRST_FORECAST_DAY

__all__ = ["PLOTS", "FORECAST_WINDOW", "write_report", "tokens"]

#: Days the forecast-vs-actual plot shows (the last ones).
FORECAST_WINDOW = 91

#: The plots the page shows, in order: file name → caption.
PLOTS = {
    "interruptions.png": "Interrupted orders per day (platforms still paying), both models",
    "capital.png": "Capital locked at the end of each day; the house's credit drawn from the pool beside it",
    "worst_balances.png": "Balance paths of the platforms the prepaid model interrupted most",
    "tiers.png": "Tier migration in the house: members per tier each day",
    "forecast.png": "Forecast vs actual daily net flow over the last 91 days (the weekly forecast's p05–p95 band "
    "and median, and what happened) for the three largest members",
    "cover2.png": "Cover 2 each day: the two largest exposures against the lenders' pool",
}


def tokens(units: int) -> str:
    """Whole tokens with thousands separators, rounded towards zero (exact units are in report.json).

    >>> tokens(1_234_567_890_123), tokens(-5 * 10**6)
    ('1,234,567 tokens', '-5 tokens')
    """
    sign = "-" if units < 0 else ""
    return f"{sign}{abs(units) // TOKEN:,} tokens"


def _paying_interrupted(sim: Simulation, status: np.ndarray) -> np.ndarray:
    d, w = sim.demand, sim.world
    stop = w.stop_paying_day[d.buyer]
    bad = (status == INTERRUPTED) & ~((stop >= 0) & (d.day >= stop))
    return bad


def _interruptions(sim: Simulation, plt: Any, days: np.ndarray) -> Any:
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for label, o, color in (("prepaid", sim.prepaid, "#c0392b"), ("clearing house", sim.clearing, "#2471a3")):
        per_day = np.bincount(sim.demand.day[_paying_interrupted(sim, o.status)], minlength=sim.world.days)
        ax.plot(days, per_day, label=label, color=color, lw=1)
    ax.set_xlabel("day")
    ax.set_ylabel("orders interrupted")
    ax.legend()
    return fig


def _capital(sim: Simulation, plt: Any, days: np.ndarray) -> Any:
    p, c = sim.prepaid, sim.clearing
    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.plot(days, p.capital_locked / TOKEN, label="prepaid: balances + in flight", color="#c0392b")
    ax.plot(days, c.capital_locked / TOKEN, label="house: collateral + in flight", color="#2471a3")
    ax.plot(days, c.series["drawn"] / TOKEN, label="house: credit drawn (lenders' money)", color="#2471a3", ls=":")
    ax.axhline(int(sim.world.capital.sum()) / TOKEN, color="grey", ls="--", lw=0.8, label="capital committed")
    ax.set_xlabel("day")
    ax.set_ylabel("tokens")
    ax.legend(fontsize=8)
    return fig


def _worst(sim: Simulation, plt: Any, days: np.ndarray) -> Any:
    p, c = sim.prepaid, sim.clearing
    hit = np.bincount(sim.demand.buyer[_paying_interrupted(sim, p.status)], minlength=sim.world.n)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharex=True)
    for k in (int(k) for k in np.argsort(-hit, kind="stable")[:3]):
        name = sim.world.names[k]
        axes[0].plot(days, p.balance_path[:, k] / TOKEN, lw=1, label=f"{name} ({hit[k]} interrupted)")
        axes[1].plot(days, c.balance_path[:, k] / TOKEN, lw=1, label=name)
    axes[0].set_title("prepaid: Σ balances at sellers", fontsize=9)
    axes[1].set_title("house: signed balance (below 0: credit drawn)", fontsize=9)
    axes[1].axhline(0, color="grey", lw=0.6)
    for ax in axes:
        ax.set_xlabel("day")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("tokens")
    return fig


def _tiers(sim: Simulation, plt: Any, days: np.ndarray) -> Any:
    tiers = sim.clearing.series["tier"]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    counts = [(tiers == code).sum(axis=1) for code in range(4)]
    ax.stackplot(
        days, *counts, labels=["A", "B", "C", "gone (defaulted)"], colors=["#1e8449", "#2471a3", "#d68910", "#7f8c8d"]
    )
    ax.set_xlabel("day")
    ax.set_ylabel("members")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def _forecast(sim: Simulation, plt: Any, days: np.ndarray) -> Any:
    c = sim.clearing
    tracked = c.series["tracked"]
    fig, axes = plt.subplots(len(tracked) or 1, 1, figsize=(9, 2.4 * max(1, len(tracked))), squeeze=False)
    last = days[-FORECAST_WINDOW:]  # the last quarter: a year of daily bands is unreadable
    for row, name in enumerate(tracked):
        ax = axes[row][0]
        k = sim.world.names.index(name)
        fc = {q: v[row][last] / TOKEN for q, v in c.series["forecast"].items()}
        ax.fill_between(last, fc["p05"], fc["p95"], color="#aed6f1", label="p05–p95")
        ax.plot(last, fc["p50"], color="#2471a3", lw=1, label="forecast p50")
        ax.plot(last, c.series["net"][last, k] / TOKEN, color="black", lw=0.8, label="actual")
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("net, tokens")
        ax.legend(fontsize=7, loc="upper left")
    axes[-1][0].set_xlabel("day")
    return fig


def _cover2(sim: Simulation, plt: Any, days: np.ndarray) -> Any:
    c = sim.clearing
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.plot(days, c.series["cover2_loss"] / TOKEN, label="two largest exposures (Cover 2 loss)", color="#c0392b")
    ax.plot(days, c.series["pool"] / TOKEN, label="lenders' pool", color="#1e8449")
    ax.set_xlabel("day")
    ax.set_ylabel("tokens")
    ax.legend(fontsize=8)
    return fig


_DRAW = {
    "interruptions.png": _interruptions,
    "capital.png": _capital,
    "worst_balances.png": _worst,
    "tiers.png": _tiers,
    "forecast.png": _forecast,
    "cover2.png": _cover2,
}


def _plots(out: Path, sim: Simulation) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = np.arange(sim.world.days)
    for name in PLOTS:
        fig = _DRAW[name](sim, plt, days)
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)


def _verdict(h: dict[str, Any]) -> str:
    parts = []
    for key, target, what in (
        ("interruptions_cut", "interruptions_target", "interrupted orders"),
        ("capital_locked_cut", "capital_target", "mean capital locked"),
    ):
        ok = h[key] >= h[target]
        parts.append(
            f"<li>{what}: <b>{h[key]:.1%}</b> less in the house (target ≥ {h[target]:.0%}): "
            + ("<span class=ok>met</span>" if ok else "<span class=bad>NOT met</span>")
            + "</li>"
        )
    return "<ul>" + "".join(parts) + "</ul>"


def _why(report: dict[str, Any]) -> str:
    """Where the house's remaining interruptions come from, and what its locked capital is made of."""
    c = report["clearing"]
    because = {k: v for k, v in c["interrupted_because"].items() if not k.startswith("buyer_not_paying")}
    total = max(1, sum(because.values()))
    text = {
        "member_suspended": "orders to or from a member the house had declared in default: the risk rule "
        "member-suspended holds them for review (prepaid completed them, and the buyers then lost the balances "
        "they had left at the defaulter)",
        "order_beyond_headroom": "bulk orders larger than the debtor's whole headroom that morning",
        "headroom_used_up": "orders after the debtor's headroom was used up that day",
        "deferred_by_settlement": "obligations the cycle's liquidity-saving settlement deferred",
    }
    items = "".join(
        f"<li>{v:,} ({v / total:.0%}): {html.escape(text.get(k, k))}</li>"
        for k, v in sorted(because.items(), key=lambda kv: -kv[1])
    )
    credit = c["credit"]
    early = min(1.0, FIRST_FORECAST_DAY / max(1, report["days"]))
    return (
        f"<p>The house's {c['orders_interrupted']:,} interruptions of platforms still paying:</p><ul>{items}</ul>"
        f"<p>Its locked capital is collateral posted plus top-ups in flight. Until day {FIRST_FORECAST_DAY}, when "
        f"their forecasts start, members keep their whole capital posted: {early:.0%} of this run's days. Members "
        f"also drew credit from the lenders' pool, {tokens(credit['drawn_mean'])} on average (peak "
        f"{tokens(credit['drawn_peak'])}), repaid by their next top-ups.</p>"
    )


def _row(label: str, p: Any, c: Any) -> str:
    return f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(p))}</td><td>{html.escape(str(c))}</td></tr>"


def _table(r: dict[str, Any]) -> str:
    p, c = r["prepaid"], r["clearing"]
    rows = [
        _row("orders interrupted (platforms paying)", f"{p['orders_interrupted']:,}", f"{c['orders_interrupted']:,}"),
        _row("value interrupted", tokens(p["value_interrupted"]), tokens(c["value_interrupted"])),
        _row("orders interrupted, all", f"{p['orders_interrupted_all']:,}", f"{c['orders_interrupted_all']:,}"),
        _row(
            "days with an interruption, mean per platform",
            p["interruption_days"]["mean"],
            c["interruption_days"]["mean"],
        ),
        _row("capital locked, mean", tokens(p["capital_locked_mean"]), tokens(c["capital_locked_mean"])),
        _row("capital locked, peak", tokens(p["capital_locked_peak"]), tokens(c["capital_locked_peak"])),
        _row("credit drawn / repaid", "—", f"{tokens(c['credit']['drawn'])} / {tokens(c['credit']['repaid'])}"),
        _row(
            "credit drawn, mean / peak",
            "—",
            f"{tokens(c['credit']['drawn_mean'])} / {tokens(c['credit']['drawn_peak'])}",
        ),
        _row(
            "top-ups (count, value)",
            f"{p['topups']['count']:,}, {tokens(p['topups']['value'])}",
            f"{c['topups']['count']:,}, {tokens(c['topups']['value'])}",
        ),
        _row("default losses", tokens(p["default_losses"]["total"]), tokens(c["default_losses"]["total"])),
        _row(
            "… borne by",
            ", ".join(p["default_losses"]["borne_by"]) or "—",
            ", ".join(c["default_losses"]["borne_by"]) or "—",
        ),
        _row("gross value cleared without cash: netting", "0%", f"{c['cleared_without_cash']['netting_share']:.1%}"),
        _row("… by set-off alone (debt cycles)", "0%", f"{c['cleared_without_cash']['setoff_share']:.1%}"),
    ]
    return "<table><tr><th></th><th>prepaid</th><th>clearing house</th></tr>" + "".join(rows) + "</table>"


def _sensitivity(r: dict[str, Any]) -> str:
    s = r.get("sensitivity")
    if not s:
        return "<p>Not run this time (<code>--sensitivity</code>: 5 seeds × 3 capital levels).</p>"
    rows = "".join(
        f"<tr><th>capital × {lvl}</th><td>{v['interruptions_cut']['min']:.1%} … {v['interruptions_cut']['max']:.1%}"
        f"</td><td>{v['capital_locked_cut']['min']:.1%} … {v['capital_locked_cut']['max']:.1%}</td></tr>"
        for lvl, v in s["spread"].items()
    )
    return (
        "<table><tr><th></th><th>interruptions cut (min … max)</th><th>capital locked cut</th></tr>"
        f"{rows}</table><p>{s['seeds']} seeds per capital level.</p>"
    )


def _full(r: dict[str, Any]) -> str:
    f = r.get("full")
    if not f:
        return "<p>Not run this time (<code>--full</code>).</p>"
    verdict = "the same" if f.get("same") else "DIFFERENT"
    return (
        f"<p>{html.escape(f.get('summary', ''))} The service and the fast path gave <b>{verdict}</b> "
        "interruptions and positions.</p>"
    )


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{html.escape(k)} {v:,}" for k, v in d.items()) or "none"


def _house_details(c: dict[str, Any]) -> str:
    """Settlement, holds, tiers, defaults and financing in words and one table."""
    holds = c["holds"]
    rows = "".join(
        f"<tr><th>{html.escape(w['member'])}</th><td>{w['day']}</td><td>{html.escape(str(w['why']))}</td>"
        f"<td>{tokens(int(w['loss']))}</td>"
        + "".join(f"<td>{tokens(int(v))}</td>" for v in dict(w["steps"]).values())
        + "</tr>"
        for w in c["waterfall"]
    )
    defaults = (
        "<table><tr><th>member</th><th>day</th><th>declared because</th><th>loss</th><th>1 collateral</th>"
        f"<th>2 pledged assets</th><th>3 receivables</th><th>4 pool lenders</th></tr>{rows}</table>"
        if rows
        else "<p>No default.</p>"
    )
    return (
        f"<p>Settlement methods per cycle: {_counts(c['settlement']['methods'])}; obligations deferred: "
        f"{c['settlement']['deferred']:,}. Orders held by a risk rule and released within the cycle: "
        f"{holds['orders']:,} ({holds['for_review']:,} for a reviewer; {_counts(holds['rules'])}). Members per tier "
        f"at the end: {_counts(c['tiers_end'])}. Tier-C orders prepaid into escrow: {c['escrow']['orders']:,}.</p>"
        f"<p>Defaults and their waterfall (loss covered step by step):</p>{defaults}"
        f"<p>Receivables financing priced for {c['financing']['quotes']:,} creditor-days (advance offered "
        f"{tokens(c['financing']['advance_offered'])}), not taken: headroom already counts accepted receivables.</p>"
    )


def write_report(out: Path, report: dict[str, Any], sim: Simulation) -> None:
    """Write the plots and report.html into ``out`` (report.json is the caller's)."""
    _plots(out, sim)
    h = report["headline"]
    c = report["clearing"]
    figs = "".join(
        f'<figure><img src="{name}" alt="{html.escape(cap)}"><figcaption>{html.escape(cap)}</figcaption></figure>'
        for name, cap in PLOTS.items()
    )
    calls = ", ".join(f"{k} × {v:,}" for k, v in c["domain_calls"].items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prepaid vs clearing house: seed {report["seed"]}</title>
<style>body{{font:15px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}
th:first-child{{text-align:left}}.ok{{color:#1e8449;font-weight:bold}}.bad{{color:#c0392b;font-weight:bold}}
figure{{margin:1.5em 0}}img{{max-width:100%}}figcaption{{font-size:.9em;color:#555}}code{{background:#f4f4f4}}</style>
</head><body>
<h1>Prepaid balances vs the clearing house</h1>
<p>{report["platforms"]} platforms, {report["days"]} days, seed {report["seed"]}: {report["demand"]["orders"]:,} orders
worth {tokens(report["demand"]["value"])}. Both models see the same orders and the same capital,
{tokens(report["capital"])} ({html.escape(str(report["scenario"]["capital_days"]))} days of each platform's mean
purchases). Prepaid: it is split into balances at sellers. House: it is posted as collateral on day 0, then each
member keeps what its forecast advises and withdraws the rest. Run in {report.get("wall_s", 0)} s.</p>
<h2>Headline</h2>
{_verdict(h)}
{_why(report)}
<p>Counting every order, including those placed by platforms after they stopped paying (which no model can fund),
interruptions are cut by {h["interruptions_cut_counting_buyers_not_paying"]:.1%}. By value, interrupted orders are cut
by {h["interrupted_value_cut"]:.1%}: the bulk orders of the heavy tail exceed a member's headroom as they exceed a
prepaid balance. Counting the credit the house's members draw from the lenders' pool as locked too, capital is cut
by {h["capital_locked_cut_counting_credit_drawn"]:.1%}.</p>
{_table(report)}
{figs}
<h2>Sensitivity</h2>
{_sensitivity(report)}
<h2>Full path</h2>
{_full(report)}
<h2>How the house's figures were made</h2>
<p>By the project's own domain code, called this often: {html.escape(calls)}.</p>
{_house_details(c)}
<p>See docs/simulation.md for the model, its assumptions and what is weak.</p>
</body></html>
"""
    (out / "report.html").write_text(page)
