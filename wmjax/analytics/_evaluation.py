"""The desk's evaluation report: execution quality and prediction accuracy, each with its SE.

Execution quality of any strategy on any market, from a rollout on `RecordingMarket(market)`
(mids and market volumes per interval) and, where a metric needs it, the same keys run with no
trading (common random numbers make the difference the strategy's own effect):
- IS vs arrival (Perold 1988, "The implementation shortfall: paper versus reality") and IS vs
  the interval VWAP of the market (sum V_k m_k / sum V_k, m_k the mid an interval opens at).
- participation CV: per path, std / mean of our share of each interval's volume over the
  intervals we trade in (0 for a perfect POV).
- timing alpha: minus the cost of the no-trade mid drift at our fill times (price moves that
  were not our impact).
- impact vs the square-root law: E[IS] / (sigma_daily_bps sqrt(Q / ADV)), the implied Y.
- reversion capture: of the mid displacement our trading left at completion, the share that has
  reverted by the end of the post-completion window, 1 - E[d_end] / E[d_completion] with
  d = side (mid - no-trade mid): 1 for purely temporary (transient) impact, 0 for permanent.
Prediction accuracy of a learned model against the simulator: RMSE, bias, MAE, the accuracy of
predicted fill probabilities, and the reliability of probabilities per decile.
"""

from __future__ import annotations

import numpy as np

from wmjax._checks import finite_array, positive_int, require


def mean_se(values) -> dict:
    """{"mean", "se", "n"} of a sample (SE = sd / sqrt(n), ddof = 1)."""
    x = np.asarray(values, float).ravel()
    n = x.size
    se = float(np.std(x, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return {"mean": float(np.mean(x)), "se": se, "n": int(n)}


def _ratio_se(num, den) -> dict:
    # ratio of means E[num] / E[den] with its delta-method SE
    num, den = np.asarray(num, float), np.asarray(den, float)
    n = num.size
    r = float(np.mean(num) / np.mean(den))
    resid = (num - r * den) / np.mean(den)
    return {"mean": r, "se": float(np.std(resid, ddof=1) / np.sqrt(n)), "n": int(n)}


def execution_metrics(
    paths, side, *, baseline=None, daily_sigma_bps=None, adv_shares=None, completion_step=None
) -> dict:
    """Execution-quality metrics (mean, se per metric) of `paths` from a rollout on
    `RecordingMarket`. `baseline`: the same keys with no trading (for timing alpha and
    reversion capture); `daily_sigma_bps` and `adv_shares` for the square-root-law ratio;
    `completion_step`: index of the first interval after the order is done (reversion capture
    is measured from that interval's opening mid to the final mid)."""
    rec = paths.final_state
    mids, volumes = np.asarray(rec.mids, float), np.asarray(rec.volumes, float)
    shares, price = np.asarray(paths.shares, float), np.asarray(paths.exec_price, float)
    arrival = np.asarray(paths.arrival_price, float)
    filled = shares.sum(-1)
    require(bool(np.all(filled > 0)), "some paths filled nothing: no execution to evaluate")
    avg_price = (shares * price).sum(-1) / filled
    vwap = (volumes * mids).sum(-1) / volumes.sum(-1)
    traded = shares > 0
    part = np.where(traded, np.asarray(paths.participation, float), np.nan)
    cv = np.nanstd(part, axis=-1) / np.nanmean(part, axis=-1)
    out = {
        "is_vs_arrival_bps": mean_se(paths.is_bps),
        "is_vs_vwap_bps": mean_se(side * (avg_price - vwap) / arrival * 1e4),
        "participation_cv": mean_se(cv),
        "completion": mean_se(paths.completion),
    }
    if daily_sigma_bps is not None and adv_shares is not None:
        quantity = float(np.asarray(paths.holdings)[0, 0])
        scale = float(daily_sigma_bps) * np.sqrt(quantity / float(adv_shares))
        out["impact_vs_sqrt_law"] = mean_se(np.asarray(paths.is_bps) / scale)
    if baseline is not None:
        mids0 = np.asarray(baseline.final_state.mids, float)
        drift = (shares * (mids0 - arrival[:, None])).sum(-1) / filled
        out["timing_alpha_bps"] = mean_se(-side * drift / arrival * 1e4)
        if completion_step is not None:
            k = int(completion_step)
            require(0 < k < mids.shape[-1], f"completion_step must be in 1..{mids.shape[-1] - 1}")
            at_done = side * (mids[:, k] - mids0[:, k])
            at_end = side * (np.asarray(paths.final_mid) - np.asarray(baseline.final_mid))
            out["reversion_capture"] = _ratio_se(at_done - at_end, at_done)
    return out


def prediction_metrics(predicted, actual) -> dict:
    """RMSE, bias (predicted - actual) and MAE with SEs; the RMSE's SE by the delta method."""
    p = finite_array("predicted", predicted).ravel()
    a = finite_array("actual", actual).ravel()
    require(p.shape == a.shape, f"predicted and actual differ in size: {p.size} vs {a.size}")
    err = p - a
    mse = mean_se(err**2)
    rmse = float(np.sqrt(mse["mean"]))
    return {
        "rmse": {"mean": rmse, "se": mse["se"] / (2 * rmse) if rmse > 0 else 0.0, "n": p.size},
        "bias": mean_se(err),
        "mae": mean_se(np.abs(err)),
    }


def fill_rate_accuracy(probability, filled) -> dict:
    """Accuracy of predicted fill probabilities against 0/1 outcomes (threshold 1/2) and the
    Brier score, with SEs."""
    p = finite_array("probability", probability).ravel()
    y = finite_array("filled", filled).ravel()
    return {"accuracy": mean_se((p >= 0.5) == (y > 0.5)), "brier": mean_se((p - y) ** 2)}


def reliability(probability, outcome, n_bins: int = 10) -> dict:
    """Calibration per quantile bin of the predicted probability: mean predicted, observed rate
    and count per bin, and the largest |predicted - observed| over bins with >= 1 member."""
    n = positive_int("n_bins", n_bins)
    p = finite_array("probability", probability).ravel()
    y = finite_array("outcome", outcome).ravel()
    edges = np.quantile(p, np.linspace(0, 1, n + 1))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n - 1)
    pred = np.array([p[idx == b].mean() if np.any(idx == b) else np.nan for b in range(n)])
    obs = np.array([y[idx == b].mean() if np.any(idx == b) else np.nan for b in range(n)])
    count = np.bincount(idx, minlength=n)
    return {
        "predicted": pred,
        "observed": obs,
        "count": count,
        "max_gap": float(np.nanmax(np.abs(pred - obs))),
    }


def idle_policy(params, obs):
    """Trade nothing: run it on the same keys as a strategy for the no-trade counterfactual."""
    return 0.0 * obs.remaining_shares
