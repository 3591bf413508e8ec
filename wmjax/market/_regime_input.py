"""The regime as an input other components take: a `RegimeEstimate` (probabilities over the four
regimes and the label) and `apply_regime`, which scales a market's volatility and liquidity.

How to pass a regime in (no change to those components is needed):

- pre-trade report and the Almgren-Chriss world model: they read `ImpactParams`; give them
  `apply_regime(market_params, estimate)` instead of `market_params`, e.g.
  `wmjax.analytics.pretrade(order, ImpactMarket(), apply_regime(mp, est))` or
  `almgren_chriss(..., sigma=float(p.sigma), eta=float(p.eta))` with `p = apply_regime(mp, est)`.
- advisor: its state carries `liquidity_regime` in ("calm", "normal", "stressed");
  set `state["liquidity_regime"] = liquidity_regime(est)`.

Scaling (the multipliers are probability-weighted over the regimes, so an uncertain estimate
gives an intermediate market): sigma x volatility; daily volume x volume; the linear impact
coefficients eta and gamma x volatility / volume, as in Almgren, Thum, Hauptmann & Li (2005),
where impact per share is sigma times a function of the trading rate over daily volume (the
square-root law's Y sigma (q/V)^delta already follows from sigma and V).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive, require
from wmjax.market._impact_market import ImpactParams
from wmjax.market._regimes import N_REGIMES, REGIME_NAMES, Regime


@struct.dataclass
class RegimeEstimate:
    """probabilities: (..., 4) over `Regime` (trending, reverting, volatile, calm), sum 1;
    label: (...) int32, the most probable regime."""

    probabilities: jax.Array
    label: jax.Array

    @property
    def name(self) -> str:
        """The label's name (a single estimate)."""
        return REGIME_NAMES[int(self.label)]


def regime_estimate(probabilities) -> RegimeEstimate:
    """A checked `RegimeEstimate` from probabilities (..., 4) (normalised to sum 1)."""
    p = finite_array("probabilities", probabilities)
    require(p.shape[-1:] == (N_REGIMES,), f"probabilities need a last axis of 4, got {p.shape}")
    require(bool(np.all(p >= 0)), "probabilities must be >= 0")
    total = p.sum(-1, keepdims=True)
    require(bool(np.all(total > 0)), "probabilities must not all be 0")
    p = p / total
    return RegimeEstimate(jnp.asarray(p, jnp.float32), jnp.asarray(p.argmax(-1), jnp.int32))


def one_hot_estimate(regime: Regime | str) -> RegimeEstimate:
    """The certain estimate of one regime (a `Regime` or its name)."""
    if isinstance(regime, str):
        require(regime in REGIME_NAMES, f"regime must be one of {REGIME_NAMES}, got {regime!r}")
        regime = Regime[regime.upper()]
    return regime_estimate(np.eye(N_REGIMES)[int(regime)])


@struct.dataclass
class RegimeScaling:
    """Per-regime multipliers (4,) on volatility and on daily volume."""

    volatility: jax.Array
    volume: jax.Array


def regime_scaling(volatility=(1.0, 1.0, 2.0, 0.6), volume=(1.0, 1.0, 1.5, 0.8)):
    """Checked `RegimeScaling`. The defaults are illustrative; fit them to data with
    `wmjax.analytics.scaling_from_timeline`."""
    vol = positive("volatility", volatility)
    volume = positive("volume", volume)
    require(vol.shape == volume.shape == (N_REGIMES,), "volatility and volume need 4 values each")
    return RegimeScaling(jnp.asarray(vol, jnp.float32), jnp.asarray(volume, jnp.float32))


def regime_multipliers(estimate: RegimeEstimate, scaling: RegimeScaling):
    """(volatility, volume) multipliers, probability-weighted (shape of `estimate.label`)."""
    p = estimate.probabilities
    return p @ scaling.volatility, p @ scaling.volume


def apply_regime(
    params: ImpactParams, estimate: RegimeEstimate, scaling: RegimeScaling | None = None
) -> ImpactParams:
    """`params` with sigma, daily volume, eta and gamma scaled for the regime (jit/vmap-able:
    a batch of estimates with `vmap` gives a batch of markets)."""
    scaling = regime_scaling() if scaling is None else scaling
    vol, volume = regime_multipliers(estimate, scaling)
    return params.replace(
        sigma=params.sigma * vol,
        daily_volume_shares=params.daily_volume_shares * volume,
        eta=params.eta * vol / volume,
        gamma=params.gamma * vol / volume,
    )


_LIQUIDITY_REGIME = {
    Regime.TRENDING: "normal",
    Regime.REVERTING: "normal",
    Regime.VOLATILE: "stressed",
    Regime.CALM: "calm",
}


def liquidity_regime(estimate: RegimeEstimate) -> str:
    """The advisor's `liquidity_regime` for a single estimate: volatile -> "stressed",
    calm -> "calm", trending and reverting -> "normal"."""
    return _LIQUIDITY_REGIME[Regime(int(estimate.label))]
