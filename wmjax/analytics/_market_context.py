"""Pre-trade's market context and the AC world model's schedule as a strategy.

`market_context` states what the desk is trading into: the regime (if the caller names one)
and the per-interval sigma_k, eta_k and gamma_k paths the AC world model's heads fit from the
market's features. A named regime scales the market by the regime model's multipliers
(`RegimeScaling`: "calm" is its calm regime, "stressed" its volatile one; sigma x volatility,
eta and gamma x volatility / volume, `apply_regime`): `regime_market_params` is the market the
pre-trade simulation runs on (the regime held over the horizon), and the context's two-state
chain starts in that regime with the calm and stressed multipliers and may switch
(`REGIME_SWITCH_PROB`). eta_k is the market's linear impact, or where it has none its
power-law impact linearised at the TWAP child order in each interval's expected volume
(eta_k = Y sigma (q / V_k)^delta / (q / tau)), so a U-shaped volume profile becomes a
time-varying liquidity path. `ac_world_strategy` is the model's schedule for the order as a
`Strategy`, to pass to `pretrade` beside the standard ones (`strategies=[...]`).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from wmjax._checks import require
from wmjax.analytics._strategies import Strategy, schedule_strategy
from wmjax.market import (
    ImpactParams,
    Regime,
    RegimeParams,
    RegimeScaling,
    apply_regime,
    expected_gamma_path,
    expected_paths,
    one_hot_estimate,
    regime_params,
    regime_scaling,
)
from wmjax.models import AlmgrenChrissWorldModel, ac_market_features, load_ac_world

REGIME_LABELS = ("calm", "stressed")
#: regime chain used when a label is given: P(leave calm), P(leave stressed) per interval
REGIME_SWITCH_PROB = (0.05, 0.1)
#: the regime model's regime behind each label
REGIME_OF_LABEL = {"calm": Regime.CALM, "stressed": Regime.VOLATILE}


def _check_regime(regime: str) -> None:
    require(regime in REGIME_LABELS, f"regime must be one of {REGIME_LABELS}, got {regime!r}")


def _label_multipliers(scaling: RegimeScaling | None) -> tuple[np.ndarray, np.ndarray]:
    # (sigma, eta) multipliers of the (calm, stressed) labels
    scaling = regime_scaling() if scaling is None else scaling
    idx = [int(REGIME_OF_LABEL[label]) for label in REGIME_LABELS]
    vol = np.asarray(scaling.volatility)[idx]
    return vol, vol / np.asarray(scaling.volume)[idx]


def regime_market_params(
    params: ImpactParams, regime: str | None, scaling: RegimeScaling | None = None
) -> ImpactParams:
    """`params` scaled for `regime` ("calm" or "stressed"; None: unchanged) by `scaling`
    (default `regime_scaling()`; fitted ones from `scaling_from_timeline`)."""
    if regime is None:
        return params
    _check_regime(regime)
    scaling = regime_scaling() if scaling is None else scaling
    return apply_regime(params, one_hot_estimate(REGIME_OF_LABEL[regime]), scaling)


def _linear_eta(order, params: ImpactParams) -> jnp.ndarray:
    n = params.volume_frac.shape[-1]
    q = order.quantity_shares / n
    tau = order.horizon_days / n
    volume = params.daily_volume_shares * params.volume_frac
    power = params.sqrt_coefficient * params.sigma * (q / volume) ** params.sqrt_exponent
    return params.eta + power / (q / tau)


def _regime_market(
    order, params: ImpactParams, regime: str | None, scaling: RegimeScaling | None
) -> RegimeParams:
    eta_k = _linear_eta(order, params)
    eta_bar = jnp.mean(eta_k)
    base = params.replace(eta=eta_bar)
    if regime is None:
        return regime_params(base, eta_mult=np.asarray(eta_k / eta_bar))
    _check_regime(regime)
    sigma_mult, eta_mult = _label_multipliers(scaling)
    # the calm regime is the chain's unit (as the heads were trained): the base scaled to it,
    # the stressed state relative to it
    base = base.replace(
        sigma=base.sigma * sigma_mult[0],
        eta=base.eta * eta_mult[0],
        gamma=base.gamma * eta_mult[0],
    )
    return regime_params(
        base,
        eta_mult=np.asarray(eta_k / eta_bar),
        regime_sigma_mult=(1.0, sigma_mult[1] / sigma_mult[0]),
        regime_eta_mult=(1.0, eta_mult[1] / eta_mult[0]),
        switch_prob=REGIME_SWITCH_PROB,
        initial_regime=REGIME_LABELS.index(regime),
    )


def market_context(
    order, params: ImpactParams, model, model_params, regime=None, scaling=None
) -> dict:
    """{"regime", "sigma_path", "eta_path", "gamma_path" (fitted by the heads, price units),
    "sigma_exact", "eta_exact", "gamma_exact" (the market's own expected paths), "n_steps"}
    for `order` on the unscaled `params` (a named regime enters through the chain)."""
    require(
        params.n_steps == model.n_steps,
        f"the AC world model schedules {model.n_steps} intervals; use {model.n_steps} periods",
    )
    market = _regime_market(order, params, regime, scaling)
    mult = {}
    if regime is not None:
        i = REGIME_LABELS.index(regime)
        sigma_mult, eta_mult = _label_multipliers(scaling)
        mult = {"regime_sigma_mult": float(sigma_mult[i]), "regime_eta_mult": float(eta_mult[i])}
    sigma, eta, gamma = model.fit_paths(model_params, ac_market_features(market))
    sigma_exact, eta_exact, _ = expected_paths(market)
    return {
        "regime": regime or "not given",
        "sigma_path": np.asarray(sigma),
        "eta_path": np.asarray(eta),
        "gamma_path": np.asarray(gamma),
        "sigma_exact": np.asarray(sigma_exact),
        "eta_exact": np.asarray(eta_exact),
        "gamma_exact": np.asarray(expected_gamma_path(market)),
        **mult,
        "n_steps": int(params.n_steps),
    }


def ac_world_strategy(
    order, params: ImpactParams, model, model_params, context: dict, risk_aversion_std: float
) -> Strategy:
    """The AC world model's schedule on the fitted paths of `context`, as the strategy
    "ac_world". pretrade's lambda is on the std of IS (bps); at an optimum of
    E + lambda_std Std the variance weight is lambda_std / (2 Std), taken at TWAP's Std."""
    n = params.n_steps
    s0 = float(params.arrival_price)
    tau = float(order.horizon_days) / n
    holdings = 1.0 - np.arange(1, n + 1) / n
    std_twap_bps = 1e4 / s0 * np.sqrt(tau * np.sum(context["sigma_path"] ** 2 * holdings**2))
    lam_var_bps = float(risk_aversion_std) / (2.0 * max(std_twap_bps, 1e-9))
    fractions = model.schedule(
        model_params,
        jnp.asarray(context["sigma_path"]),
        jnp.asarray(context["eta_path"]),
        lam_var_bps,
        order.quantity_shares,
        order.horizon_days,
        s0,
        jnp.asarray(context["gamma_path"]),
    )
    fractions = np.asarray(fractions, float)
    return schedule_strategy("ac_world", fractions / fractions.sum())


def pretrade_extras(
    order, params: ImpactParams, risk_aversion_std: float, regime=None, scaling=None
):
    """(extra strategies, context) for `pretrade`: the pre-trained AC world model's schedule
    and the market-context dict, or ([], None) when the market's intervals differ from the
    model's (the context then says why). `params` unscaled; `regime` and `scaling` as in
    `regime_market_params`."""
    model = AlmgrenChrissWorldModel()
    if params.n_steps != model.n_steps:
        return [], {
            "regime": regime or "not given",
            "note": f"AC world model needs {model.n_steps} periods",
        }
    model_params = load_ac_world(model=model)
    if regime is not None:
        _check_regime(regime)
    context = market_context(order, params, model, model_params, regime, scaling)
    return [
        ac_world_strategy(order, params, model, model_params, context, risk_aversion_std)
    ], context


def context_line(context: dict) -> str:
    """One readable line: regime and the fitted sigma / eta paths (bps of price per sqrt(day);
    eta relative to its mean)."""
    if "sigma_path" not in context:
        return f"market context: regime {context['regime']}; {context['note']}"
    s = context["sigma_path"]
    e = context["eta_path"]
    fmt = lambda a: " ".join(f"{v:.3g}" for v in a)  # noqa: E731
    regime = context["regime"]
    if "regime_sigma_mult" in context:
        regime += (
            f" (sigma x{context['regime_sigma_mult']:.3g}, eta x{context['regime_eta_mult']:.3g})"
        )
    return (
        f"market context: regime {regime}; fitted sigma_k (price/sqrt(day)) "
        f"[{fmt(s)}]; fitted eta_k / mean [{fmt(e / e.mean())}]"
    )
