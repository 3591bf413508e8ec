"""Performance of a daily return series: annualised return, Sharpe ratio, drawdown, turnover,
and a paired block-bootstrap standard error of a Sharpe-ratio difference."""

from __future__ import annotations

import numpy as np

from wmjax._checks import positive_int, require

DAYS_PER_YEAR = 252


def performance(daily_return, daily_turnover=None) -> dict:
    """Annualised figures of daily returns (fractions of capital): `annual_return` (mean x 252),
    `annual_vol`, `sharpe` (mean / sd x sqrt(252), no risk-free rate: the book is self-financing
    long-short), `max_drawdown` (largest fall of the compounded equity from its peak, a fraction)
    and `turnover` (gross traded per year, multiples of capital)."""
    r = np.asarray(daily_return, float)
    require(
        r.ndim == 1 and r.size >= 2, f"daily_return must be a series of >= 2 days, got {r.shape}"
    )
    sd = r.std(ddof=1)
    equity = np.cumprod(1 + r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    turnover = np.asarray(daily_turnover, float) if daily_turnover is not None else np.zeros(1)
    return {
        "annual_return": float(r.mean() * DAYS_PER_YEAR),
        "annual_vol": float(sd * np.sqrt(DAYS_PER_YEAR)),
        "sharpe": float(r.mean() / sd * np.sqrt(DAYS_PER_YEAR)) if sd > 0 else 0.0,
        "max_drawdown": float(np.max(1 - equity / peak)),
        "turnover": float(turnover.mean() * DAYS_PER_YEAR),
        "n_days": int(r.size),
    }


def sharpe_difference(a, b, *, n_boot: int = 2000, block_days: int = 21, seed: int = 0):
    """Sharpe(a) - Sharpe(b) of two daily return series on the same days and its standard error
    by a paired moving-block bootstrap (Kunsch 1989; blocks keep the serial dependence, pairing
    keeps the correlation between the two strategies)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    require(a.shape == b.shape and a.ndim == 1, "the two return series must have the same days")
    n_boot = positive_int("n_boot", n_boot)
    block_days = positive_int("block_days", block_days)
    n = a.size
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - block_days + 1, size=(n_boot, -(-n // block_days)))
    idx = (starts[:, :, None] + np.arange(block_days)).reshape(n_boot, -1)[:, :n]

    def sharpe(x):
        sd = x.std(axis=-1, ddof=1)
        return np.where(sd > 0, x.mean(-1) / np.where(sd > 0, sd, 1) * np.sqrt(DAYS_PER_YEAR), 0.0)

    diff = float(sharpe(a) - sharpe(b))
    boot = sharpe(a[idx]) - sharpe(b[idx])
    return diff, float(boot.std(ddof=1))
