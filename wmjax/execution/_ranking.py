"""Rankings of strategies with their uncertainty: objective standard errors, the paired difference
between the best and the runner-up, and constraints.

A Monte Carlo objective is an estimate. Its standard error comes from the delta method: the
influence of path i on mean + lambda * std is (x_i - m) + lambda ((x_i - m)^2 - s^2) / (2 s), on
mean + lambda * var it is (x_i - m) + lambda ((x_i - m)^2 - s^2); the estimate's variance is the
variance of the mean influence (van der Vaart 1998, ch. 3). Strategies run on common paths, so
the difference of two objectives has the influence difference as its own influence, and its SE
is usually far smaller than either SE. Antithetic twins are not independent: their influences
are averaged per pair first (`pair=2`).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

#: Within this many standard errors of the paired difference, two strategies are not
#: distinguishable.
DISTINGUISHABLE_SE = 2.0
#: Nor are they when the difference is below float32 resolution of the objectives (relative):
#: two strategies that trade alike on every path have a zero SE and a rounding-level difference.
RESOLUTION = 1e-5


def distinguishable(difference, difference_se, scale):
    """Whether a paired difference is real: above 2 SE and above float32 resolution of
    objectives of size `scale`. Works on numbers and numpy arrays."""
    floor = RESOLUTION * np.maximum(1.0, np.abs(scale))
    return (difference > DISTINGUISHABLE_SE * difference_se) & (difference > floor)


KINDS = ("mean_std", "mean_variance")


def objective_covariance(samples, risk_aversion, kind: str = "mean_std", pair: int = 1):
    """Objective per strategy and the covariance matrix of the estimates.

    samples: (..., n_strategies, n_paths) per-path values on common paths (IS in bps or
    currency); risk_aversion: lambda, broadcast against (..., n_strategies); kind: "mean_std"
    (mean + lambda std) or "mean_variance" (mean + lambda var); pair: consecutive paths that
    form one independent unit (2 for antithetic twins). Returns (objective (..., n_s),
    covariance (..., n_s, n_s)); sqrt of its diagonal are the SEs, and var(a - b) = C_aa + C_bb -
    2 C_ab. jnp, so it runs inside jit (vmapped over orders, say).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    x = jnp.asarray(samples)
    lam = jnp.asarray(risk_aversion, x.dtype)[..., None]
    n = x.shape[-1]
    mean = jnp.mean(x, axis=-1, keepdims=True)
    dev = x - mean
    var = jnp.sum(dev**2, axis=-1, keepdims=True) / (n - 1)
    if kind == "mean_std":
        std = jnp.sqrt(var)
        objective = mean + lam * std
        influence = dev + lam * (dev**2 - var) / (2.0 * jnp.where(std > 0, std, 1.0))
    else:
        objective = mean + lam * var
        influence = dev + lam * (dev**2 - var)
    units = influence.reshape(*influence.shape[:-1], n // pair, pair).mean(axis=-1)
    units = units - units.mean(axis=-1, keepdims=True)
    m = units.shape[-1]
    cov = jnp.einsum("...ip,...jp->...ij", units, units) / (m - 1) / m
    return objective[..., 0], cov


def objective_with_se(is_bps, risk_aversion) -> tuple[float, float]:
    """E + lambda Var of one strategy's per-path values and its standard error (the
    "mean_variance" case of `objective_covariance`)."""
    objective, cov = objective_covariance(np.asarray(is_bps)[None], risk_aversion, "mean_variance")
    return float(objective[0]), float(np.sqrt(cov[0, 0]))


def paired_improvement(is_base, is_new, risk_aversion) -> tuple[float, float]:
    """objective(base) - objective(new) (E + lambda Var) on the same paths and the standard
    error of that paired difference."""
    samples = np.stack([np.asarray(is_base), np.asarray(is_new)])
    objective, cov = objective_covariance(samples, risk_aversion, "mean_variance")
    se = np.sqrt(max(float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]), 0.0))
    return float(objective[0] - objective[1]), float(se)


@dataclass(frozen=True)
class Ranking:
    """Strategies ranked by their objective (lower is better) with uncertainty.

    Attributes:
        names: the strategies, in the caller's order.
        objective, objective_se: (n,) the objective estimates and their standard errors.
        eligible: (n,) whether each strategy meets the order's constraints; `reasons` says why
            not (empty string when eligible).
        recommended: the eligible strategy with the lowest objective (None if none is eligible).
        runner_up: the eligible rival hardest to tell from it (`closest_rival`; None if fewer
            than two).
        difference, difference_se: runner-up's objective minus the recommended one's, and the
            SE of that paired difference (NaN without a runner-up).
        verdict: "recommended" (better than every eligible rival by more than 2 SE), "not
            distinguishable" (some rival within 2 SE: as good on this evidence) or "no strategy
            meets the constraints".
        note: one line a desk can read.
    """

    names: tuple
    objective: np.ndarray
    objective_se: np.ndarray
    eligible: np.ndarray
    reasons: tuple
    recommended: str | None
    runner_up: str | None
    difference: float
    difference_se: float
    verdict: str
    note: str

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "recommended": self.recommended,
            "runner_up": self.runner_up,
            "difference": self.difference,
            "difference_se": self.difference_se,
            "note": self.note,
            "ineligible": {n: r for n, r in zip(self.names, self.reasons, strict=True) if r},
        }


def ranking_swaps(names, predicted, objective, covariance) -> list[dict]:
    """Where a predicted ranking (a surrogate's objectives, lower is better) orders a pair of
    strategies unlike the simulated `objective` (with `covariance` from `objective_covariance`,
    on common paths): one dict per swapped pair with the simulated difference (the one the
    simulator ranks worse minus the better), its paired SE and whether it is `distinguishable`.
    A ranking that agrees on every distinguishable pair is as right as the simulation can say."""
    pred = np.asarray(predicted, float)
    obj, cov = np.asarray(objective, float), np.asarray(covariance, float)
    out = []
    for i in range(obj.size):
        for j in range(i + 1, obj.size):
            if np.sign(pred[i] - pred[j]) == np.sign(obj[i] - obj[j]):
                continue
            better, worse = (i, j) if obj[i] <= obj[j] else (j, i)
            diff = float(obj[worse] - obj[better])
            se = float(np.sqrt(max(cov[i, i] + cov[j, j] - 2 * cov[i, j], 0.0)))
            out.append(
                {
                    "better": names[better],
                    "worse": names[worse],
                    "difference": diff,
                    "difference_se": se,
                    "distinguishable": bool(distinguishable(diff, se, obj[better])),
                }
            )
    return out


def closest_rival(objective, covariance, best: int, others) -> tuple[int, float, float, bool]:
    """The strategy among `others` hardest to tell from `best`: the one whose paired difference
    minus 2 SE is smallest (a near-twin of the best does not hide a third strategy that is
    within noise). Returns (index, difference, its SE, whether the best is distinguishable from
    every one of `others`)."""
    others = np.asarray(list(others), int)
    obj, cov = np.asarray(objective, float), np.asarray(covariance, float)
    diff = obj[others] - obj[best]
    var = cov[best, best] + cov[others, others] - 2 * cov[best, others]
    se = np.sqrt(np.maximum(var, 0.0))
    k = int(np.argmin(diff - DISTINGUISHABLE_SE * se))
    distinct = bool(np.all(distinguishable(diff, se, obj[best])))
    return int(others[k]), float(diff[k]), float(se[k]), distinct


def rank(names, objective, covariance, eligible=None, reasons=None, units: str = "") -> Ranking:
    """Rank strategies from `objective_covariance`'s outputs (one ranking: 1-D objective).

    eligible: (n,) bool, default all; reasons: (n,) why each ineligible one fails (one line).
    """
    names = tuple(names)
    obj = np.asarray(objective, np.float64)
    cov = np.asarray(covariance, np.float64)
    ok = np.ones(obj.size, bool) if eligible is None else np.asarray(eligible, bool)
    why = tuple("" if r is None else str(r) for r in (reasons or [""] * obj.size))
    why = tuple("" if e else (w or "fails the constraints") for e, w in zip(ok, why, strict=True))
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    order = [int(i) for i in np.argsort(obj, kind="stable") if ok[i]]
    best = order[0] if order else None
    second = None
    diff = diff_se = float("nan")
    if best is None:
        first = int(np.argmin(obj))
        verdict = "no strategy meets the constraints"
        note = f"{verdict}; the lowest objective, {names[first]}, {why[first]}"
    elif len(order) == 1:
        verdict = "recommended"
        note = f"{names[best]} is the only strategy that meets the constraints"
    else:
        second, diff, diff_se, distinct = closest_rival(obj, cov, best, order[1:])
        verdict = "recommended" if distinct else "not distinguishable"
        detail = f"{names[second]} costs {diff:.3g} ± {diff_se:.2g}{units} more on the same paths"
        note = (
            f"{names[best]}: {detail}"
            if distinct
            else f"{names[best]} and {names[second]} are not distinguishable ({detail}, within "
            f"{DISTINGUISHABLE_SE:g} SE): either will do"
        )
    return Ranking(
        names=names,
        objective=obj,
        objective_se=se,
        eligible=ok,
        reasons=why,
        recommended=None if best is None else names[best],
        runner_up=None if second is None else names[second],
        difference=diff,
        difference_se=diff_se,
        verdict=verdict,
        note=note,
    )
