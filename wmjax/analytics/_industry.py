"""The industry's standard pre-trade cost models, for comparison beside the simulator.

Almgren, Thum, Hauptmann & Li (2005), "Direct estimation of equity market impact", Risk 18(7),
fit on Citigroup US equity desk orders. In the paper's names: permanent impact
I = gamma * sigma * (X / V) * (Theta / V)^(1/4), temporary impact K = eta * sigma * |X / (V T)|^beta
and the realised cost of a constant-rate trade against the pre-trade price J = I / 2 + K, with
gamma = 0.314, eta = 0.142, beta = 3/5 (their fit with alpha = 1 imposed; section 4.3). sigma is
the daily volatility (a fraction), V the average daily volume and X the order (shares), Theta
the shares outstanding (Theta / V is the inverse turnover), and T the duration in *volume time*:
the fraction of a day's volume the order spans (clock time only when volume is flat; see
`volume_time_days`). These constants reproduce the paper's worked examples (section 5: DRI and
IBM, X = 10% of ADV, J = 43 / 32 / 23 and 32 / 25 / 18 bps at T = 0.1 / 0.2 / 0.5 days), which
tests/test_execution_world_industry.py pins.

Kissell's I-Star (Kissell & Glantz 2003; Kissell, Glantz & Malamut 2004; constants from Kissell
2013, "The Science of Algorithmic Trading and Portfolio Management", ch. 5, US equities): the
instantaneous impact I* = a1 * (Q / ADV)^a2 * sigma_annual^a3 (bps) and the market impact of a
strategy MI = b1 * I* * POV^a4 + (1 - b1) * I*, with a1 = 708, a2 = 0.55, a3 = 0.71, a4 = 0.50,
b1 = 0.98; POV = Q / (Q + V_T) with V_T the market volume expected over the trade's horizon.

Both exclude the spread; we add half the spread where the caller gives one.
"""

from __future__ import annotations

import math

import numpy as np

from wmjax._checks import positive

ATHL_2005 = {"gamma": 0.314, "eta": 0.142, "beta": 0.6, "turnover_exponent": 0.25}
ISTAR_KISSELL_2013 = {"a1": 708.0, "a2": 0.55, "a3": 0.71, "a4": 0.50, "b1": 0.98}
TRADING_DAYS_PER_YEAR = 252.0


def volume_time_days(volume_frac) -> float:
    """ATHL's T in volume time (days): the expected fraction of a day's volume traded over the
    order's intervals, `volume_frac` (shares of daily volume per interval, as `ImpactParams`)."""
    return float(np.sum(positive("volume_frac", volume_frac)))


def athl_cost_bps(
    quantity_shares,
    daily_volume_shares,
    daily_volatility,
    horizon_days,
    shares_outstanding=None,
    half_spread_bps=0.0,
) -> dict:
    """Almgren-Thum-Hauptmann-Li (2005) expected cost (bps) of a constant-rate trade.

    `daily_volatility` is a fraction (0.02 = 2 %); `horizon_days` is T in volume time (the
    fraction of a day's volume the order spans; `volume_time_days`). Without
    `shares_outstanding` the turnover factor (Theta / V)^(1/4) is set to 1 and the returned dict
    says so. Returns the paper's terms {"I_bps" (permanent), "K_bps" (temporary), "J_bps"
    (I / 2 + K)}, the same as {"permanent_bps", "temporary_bps"} and "total_bps" = J plus the
    half spread, and "turnover_factor".
    """
    x = float(positive("quantity_shares", quantity_shares))
    v = float(positive("daily_volume_shares", daily_volume_shares))
    sigma = float(positive("daily_volatility", daily_volatility, allow_zero=True))
    t = float(positive("horizon_days", horizon_days))
    c = ATHL_2005
    if shares_outstanding is None:
        turnover = 1.0
    else:
        turnover = (float(positive("shares_outstanding", shares_outstanding)) / v) ** c[
            "turnover_exponent"
        ]
    permanent = c["gamma"] * sigma * (x / v) * turnover * 1e4
    temporary = c["eta"] * sigma * (x / (v * t)) ** c["beta"] * 1e4
    realised = permanent / 2.0 + temporary
    return {
        "I_bps": permanent,
        "K_bps": temporary,
        "J_bps": realised,
        "permanent_bps": permanent,
        "temporary_bps": temporary,
        "total_bps": realised + float(half_spread_bps),
        "turnover_factor": turnover,
    }


def istar_cost_bps(
    quantity_shares,
    daily_volume_shares,
    daily_volatility,
    horizon_volume_shares,
    half_spread_bps=0.0,
) -> dict:
    """Kissell's I-Star market impact (bps) of trading `quantity_shares` while the market trades
    `horizon_volume_shares`; `daily_volatility` a fraction (annualised with sqrt(252)).
    Returns {"istar_bps", "pov", "total_bps"}."""
    q = float(positive("quantity_shares", quantity_shares))
    adv = float(positive("daily_volume_shares", daily_volume_shares))
    sigma_annual = float(positive("daily_volatility", daily_volatility, allow_zero=True)) * (
        math.sqrt(TRADING_DAYS_PER_YEAR)
    )
    v_t = float(positive("horizon_volume_shares", horizon_volume_shares))
    c = ISTAR_KISSELL_2013
    istar = c["a1"] * (q / adv) ** c["a2"] * sigma_annual ** c["a3"]
    pov = q / (q + v_t)
    impact = c["b1"] * istar * pov ** c["a4"] + (1.0 - c["b1"]) * istar
    return {"istar_bps": istar, "pov": pov, "total_bps": impact + float(half_spread_bps)}
