"""Condition the impact-level market on a historical day (LOBSTER), for counterfactuals and TCA.

What is known of the day and used: the realised traded volume (visible and hidden executions)
and its profile across the order's window, the realised volatility of the mid (overall, and per
interval of the window), the average quoted spread in the window, and the arrival price. The
counterfactual paths therefore trade against the day's own volume, exactly (no volume noise), and
a price that moves with the day's volatility; the price path itself stays random (the order's
impact changed the realised one, and a desk asks whether its result was typical of such a day).
Impact follows Almgren, Thum, Hauptmann & Li (2005) as in `desk_market_params`.
"""

from __future__ import annotations

import numpy as np

from wmjax._checks import InputError, positive, positive_int, require
from wmjax.analytics._industry import ATHL_2005
from wmjax.market import impact_params

TRADING_DAY_S = 23400.0
_EXECUTIONS = (4, 5)


def _mid_dollars(data) -> tuple[np.ndarray, np.ndarray]:
    require(data.levels > 0, "conditioning on a day needs its LOBSTER order-book file")
    ask = np.asarray(data.ask_price_ticks)[:, 0].astype(float)
    bid = np.asarray(data.bid_price_ticks)[:, 0].astype(float)
    ok = (np.asarray(data.ask_size_shares)[:, 0] > 0) & (np.asarray(data.bid_size_shares)[:, 0] > 0)
    scale = data.tick / 1e4  # ticks -> dollars
    return np.asarray(data.times_s)[ok], np.stack([bid[ok], ask[ok]], 1) * scale


def _grid_mid(times, quotes, grid) -> np.ndarray:
    idx = np.clip(np.searchsorted(times, grid, side="right") - 1, 0, times.size - 1)
    return quotes[idx].mean(axis=1)


def day_market_params(
    data,
    start_s: float,
    end_s: float,
    n_steps: int,
    *,
    arrival_price: float | None = None,
    sample_s: float = 10.0,
    shares_outstanding: float | None = None,
):
    """`ImpactParams` for an order over [start_s, end_s] (seconds after midnight) on the day of
    `data` (`wmjax.data.load_lobster` with its order-book file), conditioned as the module says.

    Returns (params, info) where info records the day's figures used (daily volatility, daily
    volume, window volume, half spread).
    """
    n = positive_int("n_steps", n_steps)
    times, quotes = _mid_dollars(data)
    require(times.size >= 2, "the LOBSTER file has fewer than two two-sided quotes")
    t0, t1 = float(times[0]), float(times[-1])
    if not (t0 <= start_s < end_s <= t1 + 1e-9):
        raise InputError(
            f"the order's window [{start_s}, {end_s}] s is not inside the LOBSTER file's "
            f"[{t0:.1f}, {t1:.1f}] s; use the day's files that cover it"
        )
    step = float(positive("sample_s", sample_s))
    grid = np.arange(t0, t1, step)
    mid = _grid_mid(times, quotes, grid)
    returns = np.diff(mid)
    require(returns.size >= 2, "the LOBSTER file spans too little time to estimate volatility")
    sigma_day = float(np.std(returns)) * np.sqrt(TRADING_DAY_S / step)
    kind = np.asarray(data.event_type)
    traded = np.isin(kind, _EXECUTIONS)
    msg_t = np.asarray(data.times_s)
    size = np.asarray(data.size_shares, float)
    adv = float(np.sum(size[traded])) * TRADING_DAY_S / max(t1 - t0, 1.0)
    require(adv > 0, "the LOBSTER file holds no executions; cannot estimate volume")
    edges = np.linspace(start_s, end_s, n + 1)
    bucket = np.clip(np.searchsorted(edges, msg_t[traded], side="right") - 1, 0, n - 1)
    inside = (msg_t[traded] >= start_s) & (msg_t[traded] <= end_s)
    window_volume = np.bincount(bucket[inside], weights=size[traded][inside], minlength=n)
    # an interval with no trades keeps a sliver of volume so participation stays finite
    volume_frac = np.maximum(window_volume, 1e-6 * adv) / adv
    vol_mult = np.ones(n)
    fine = np.arange(start_s, end_s + step, step)
    if fine.size > 2 * n:
        r = np.diff(_grid_mid(times, quotes, fine))
        which = np.clip(np.searchsorted(edges, fine[1:], side="right") - 1, 0, n - 1)
        overall = np.std(returns)
        for k in range(n):
            rk = r[which == k]
            if rk.size >= 2 and overall > 0:
                vol_mult[k] = max(float(np.std(rk)) / overall, 0.1)
    in_window = (times >= start_s) & (times <= end_s)
    spread = (
        quotes[in_window, 1] - quotes[in_window, 0]
        if in_window.any()
        else quotes[:1, 1] - quotes[:1, 0]
    )
    half_spread = 0.5 * float(np.mean(spread))
    arrival = (
        float(_grid_mid(times, quotes, np.array([start_s]))[0])
        if arrival_price is None
        else float(positive("arrival_price", arrival_price))
    )
    turnover = 1.0
    if shares_outstanding is not None:
        turnover = (float(positive("shares_outstanding", shares_outstanding)) / adv) ** 0.25
    params = impact_params(
        n,
        arrival_price=arrival,
        sigma=sigma_day,
        daily_volume_shares=adv,
        volume_frac=volume_frac,
        vol_mult=vol_mult,
        volume_noise=0.0,
        gamma=ATHL_2005["gamma"] * sigma_day / adv * turnover,
        epsilon=half_spread,
        sqrt_coefficient=ATHL_2005["eta"],
        sqrt_exponent=ATHL_2005["beta"],
    )
    info = {
        "daily_volatility": sigma_day / arrival,
        "daily_volume_shares": adv,
        "window_volume_shares": float(window_volume.sum()),
        "half_spread": half_spread,
        "arrival_price": arrival,
        "file_span_s": [t0, t1],
    }
    return params, info
