"""Tick-level risk of a market maker's paths: drawdown distribution, tail loss, time under water,
and how often the kill switch fired.

Definitions (per path, on the mark-to-market series cash + inventory·mid, price units): max
drawdown = the largest fall from the running peak (`wmjax.market.max_drawdown`); time under water
= the share of steps at which the mark-to-market is below its running peak (the session starts
at its peak, 0); 99% CVaR of P&L = minus the mean of the worst 1% of final P&Ls (a loss, price
units; Rockafellar & Uryasev 2000).
"""

from __future__ import annotations

import numpy as np


def drawdown_summary(paths) -> dict:
    """Risk figures of a `wmjax.market.QuotePaths` batch (price units; shares of steps)."""
    from wmjax.market import max_drawdown

    mtm = np.asarray(paths.mark_to_market, np.float64)
    pnl = np.asarray(paths.pnl, np.float64)
    drawdown = np.asarray(max_drawdown(paths.mark_to_market), np.float64)
    peak = np.maximum.accumulate(np.maximum(mtm, 0.0), axis=-1)
    worst = np.sort(pnl)[: max(1, pnl.size // 100)]
    return {
        "pnl_mean": float(pnl.mean()),
        "pnl_se": float(pnl.std(ddof=1) / np.sqrt(pnl.size)),
        "max_drawdown_mean": float(drawdown.mean()),
        "max_drawdown_p99": float(np.quantile(drawdown, 0.99)),
        "cvar99_loss": float(-worst.mean()),
        "worst_loss": float(-pnl.min()),
        "time_under_water": float((mtm < peak - 1e-9).mean()),
        "killed": float(np.asarray(paths.killed).mean()),
    }
