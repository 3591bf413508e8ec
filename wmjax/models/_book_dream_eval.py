"""Held-out checks of the book dynamics model against the simulator it learned: calibration of
the predicted fill probability (Brier score beside the base rate, reliability bins) and the
predicted mean price response to our market orders beside the simulator's measured one; the
share of the simulator-trained controller's improvement that the dream-trained one keeps."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.execution import Order, book_schedule, objective_covariance
from wmjax.market import BookMarket, BookParams
from wmjax.models._book_dream import DynamicsFit, fill_probability, teacher_forced
from wmjax.models._book_transitions import MARKET_FEATURES, Transitions, book_transitions, scheduled


def fill_calibration(fit: DynamicsFit, train: Transitions, test: Transitions, n_bins: int = 10):
    """Brier score of the per-share fill probability on the held-out decisions where shares
    were posted, beside the base rate (the training mean fill fraction predicted everywhere),
    with standard errors of both and of their paired difference; `bins`: per decile of the
    prediction, (mean predicted, mean realised, count) for the reliability plot."""
    pred = teacher_forced(fit.model, fit.variables, test)
    p = np.asarray(fill_probability(pred, test.level), np.float64)
    f = np.asarray(test.fill_fraction, np.float64)
    posted = np.asarray(test.posted_q) > 0
    p, f = p[posted], f[posted]
    train_posted = np.asarray(train.posted_q) > 0
    base = float(np.asarray(train.fill_fraction, np.float64)[train_posted].mean())
    model_sq, base_sq = (p - f) ** 2, (base - f) ** 2
    n = f.size
    edges = np.quantile(p, np.linspace(0, 1, n_bins + 1))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    bins = [
        (float(p[which == b].mean()), float(f[which == b].mean()), int(np.sum(which == b)))
        for b in range(n_bins)
        if np.any(which == b)
    ]
    return {
        "n_test": int(n),
        "brier": float(model_sq.mean()),
        "brier_se": float(model_sq.std(ddof=1) / np.sqrt(n)),
        "brier_base_rate": float(base_sq.mean()),
        "brier_base_rate_se": float(base_sq.std(ddof=1) / np.sqrt(n)),
        "brier_gain": float((base_sq - model_sq).mean()),
        "brier_gain_se": float((base_sq - model_sq).std(ddof=1) / np.sqrt(n)),
        "base_rate": base,
        "bins": bins,
    }


def state_prediction_mse(fit: DynamicsFit, test: Transitions) -> dict:
    """Held-out MSE of the next spread (ticks) and top-of-book imbalance beside persistence
    (the current value as the forecast)."""
    pred = teacher_forced(fit.model, fit.variables, test)
    out = {}
    for name, i in (("spread", 3), ("imbalance", 4)):
        j = MARKET_FEATURES.index(i)
        y = np.asarray(test.next_features[..., i], np.float64)
        out[f"{name}_mse"] = float(np.mean((np.asarray(pred.next_market[..., j]) - y) ** 2))
        out[f"{name}_mse_persistence"] = float(
            np.mean((np.asarray(test.features[..., i]) - y) ** 2)
        )
    return out


def market_order_response(
    key,
    fit: DynamicsFit,
    market: BookMarket,
    params: BookParams,
    order: Order,
    *,
    sizes_q=(0.0, 0.25, 0.5, 1.0),
    n_paths: int = 512,
    n_steps: int = 5,
) -> list[dict]:
    """Mean mid move (bps, in the order's direction) over the first interval after a market
    order of `size` x Q at the first decision (then nothing until the clean-up): measured on
    the simulator over `n_paths` held-out paths of `key` (the same paths for every size) and
    predicted by the model from the same start features; per size, both with their standard
    errors, and the response (minus size 0) with paired standard errors."""
    rows, base = [], None
    for size in sizes_q:
        trajectory = np.ones(n_steps)
        trajectory[0], trajectory[-1] = 1.0 - size, 0.0
        schedule = book_schedule(market, trajectory, 1.0)
        t = book_transitions(
            key, market, params, scheduled, schedule, order, n_paths=n_paths, n_steps=n_steps
        )
        pred = teacher_forced(fit.model, fit.variables, t)  # step 0 sees only step 0's inputs
        sim = np.asarray(t.mid_move_bps[:, 0], np.float64)
        model = np.asarray(pred.mid_mean_bps[:, 0], np.float64)
        base = base or (sim, model)
        rows.append(
            {
                "size_q": float(size),
                "sim_bps": float(sim.mean()),
                "sim_se": _se(sim),
                "model_bps": float(model.mean()),
                "model_se": _se(model),
                "sim_response_bps": float((sim - base[0]).mean()),
                "sim_response_se": _se(sim - base[0]),
                "model_response_bps": float((model - base[1]).mean()),
                "model_response_se": _se(model - base[1]),
            }
        )
    return rows


def improvement_share(is_base, is_dream, is_sim, risk_aversion) -> dict:
    """Improvements of two controllers over a baseline in E + lambda Var of IS (bps), from the
    per-path IS of all three on the same paths: each improvement with its paired SE, the share
    dream / simulator with its delta-method SE (first order, from the joint covariance of the
    three objective estimates, `objective_covariance`), and the paired difference dream -
    simulator with its SE."""
    samples = np.stack([np.asarray(x, np.float64) for x in (is_base, is_dream, is_sim)])
    obj, cov = (np.asarray(a, np.float64) for a in objective_covariance(
        samples, risk_aversion, "mean_variance"))  # fmt: skip

    def se(w) -> float:
        w = np.asarray(w, np.float64)
        return float(np.sqrt(max(w @ cov @ w, 0.0)))

    g_dream, g_sim = obj[0] - obj[1], obj[0] - obj[2]
    share = g_dream / g_sim if g_sim != 0 else float("nan")
    # d share / d (O_base, O_dream, O_sim)
    grad = np.array([1.0 / g_sim - g_dream / g_sim**2, -1.0 / g_sim, g_dream / g_sim**2])
    return {
        "dream_improvement": float(g_dream),
        "dream_improvement_se": se([1.0, -1.0, 0.0]),
        "simulator_improvement": float(g_sim),
        "simulator_improvement_se": se([1.0, 0.0, -1.0]),
        "share": float(share),
        "share_se": se(grad) if g_sim != 0 else float("nan"),
        "dream_minus_simulator": float(g_dream - g_sim),
        "dream_minus_simulator_se": se([0.0, -1.0, 1.0]),
    }


def _se(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0


def starts_of(t: Transitions) -> jax.Array:
    """The recorded features at the first decision of every path: the dream's start states."""
    return jnp.asarray(t.features[:, 0])
