"""A market for a desk's inputs (price, ADV, volatility, spread): ATHL 2005 in the simulator.

The impact-level market is set so that a constant-rate trade pays exactly what Almgren, Thum,
Hauptmann & Li (2005) predict: temporary impact Y sigma (q / V_interval)^(3/5) with Y = 0.142
(their eta; q / V_interval is the participation rate, equal to X / (V T) at a constant rate when
the interval's volume is V tau), linear permanent impact gamma = 0.314 sigma / V * (Theta / V)^(1/4)
per share (their permanent law with alpha = 1), and half the spread as the fixed cost epsilon.
The simulator then adds what the formula leaves out: the intraday U-shaped volume and
volatility, volume noise, price risk, and the schedule's actual shape.
"""

from __future__ import annotations

import numpy as np

from wmjax._checks import positive, positive_int
from wmjax.analytics._industry import ATHL_2005
from wmjax.market import impact_params, u_shaped_profile, volatility_multipliers


def horizon_profile(n_steps: int, horizon_days: float) -> np.ndarray:
    """Expected share of daily volume per interval: the U-shaped profile over the first
    `horizon_days` of the day (<= 1), or an even split of horizon_days days of volume."""
    n = positive_int("n_steps (periods)", n_steps)
    h = float(positive("horizon_days", horizon_days))
    if h <= 1.0:
        return u_shaped_profile(n, 0.0, h)
    return np.full(n, h / n)


def desk_market_params(
    n_steps: int,
    horizon_days: float,
    *,
    price: float = 50.0,
    daily_volume_shares: float = 5e6,
    daily_volatility: float = 0.02,
    spread_bps: float = 2.0,
    volume_noise: float = 0.25,
    shares_outstanding: float | None = None,
    latency=None,
):
    """`ImpactParams` from a desk's inputs with ATHL 2005 impact (see the module docstring).

    `daily_volatility` is a fraction of the price (0.02 = 2 %/day); `spread_bps` the quoted
    spread; without `shares_outstanding` the turnover factor is 1.
    """
    price = float(positive("price", price))
    adv = float(positive("daily_volume_shares (ADV)", daily_volume_shares))
    vol = float(positive("daily_volatility", daily_volatility))
    spread = float(positive("spread_bps", spread_bps, allow_zero=True))
    turnover = 1.0
    if shares_outstanding is not None:
        turnover = (float(positive("shares_outstanding", shares_outstanding)) / adv) ** 0.25
    profile = horizon_profile(n_steps, horizon_days)
    sigma = vol * price
    extra = {} if latency is None else {"latency": latency}
    return impact_params(
        n_steps,
        arrival_price=price,
        sigma=sigma,
        daily_volume_shares=adv,
        volume_frac=profile,
        vol_mult=volatility_multipliers(profile),
        volume_noise=float(positive("volume_noise", volume_noise, allow_zero=True)),
        gamma=ATHL_2005["gamma"] * sigma / adv * turnover,
        epsilon=0.5 * spread * 1e-4 * price,
        sqrt_coefficient=ATHL_2005["eta"],
        sqrt_exponent=ATHL_2005["beta"],
        **extra,
    )
