"""The simple baselines every world-model score stands beside, computed by the same features
and labels: unconditional and EWMA-variance Gaussians and the OFI nowcast for the mid change
over a clock horizon; a softmax regression for direction classes; macro-F1.

The OFI nowcast regresses the mid change on the OFI of the same interval (Cont, Kukanov &
Stoikov 2014, eq. 11): it uses the interval's own flow, so it is a ceiling, not a forecast.
EWMA variance: RiskMetrics (J.P. Morgan 1996), lambda = 0.94, one step per interval.
Paired comparisons report the SE of the per-interval NLL difference both as if independent and
by batch means over blocks of consecutive intervals (volatility clusters in time).
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
import optax

from wmjax.features import Move

EWMA_LAMBDA = 0.94
#: intervals per batch-means block of `paired_nll_difference` (30 x 10 s = 5 minutes)
SE_BLOCK = 30


def _nll_terms(y, mean, var) -> np.ndarray:
    y, mean, var = (np.asarray(x, np.float64) for x in (y, mean, var))
    return 0.5 * np.log(2 * np.pi * var) + 0.5 * (y - mean) ** 2 / var


def gaussian_nll(y, mean, var) -> float:
    """Mean Gaussian negative log-likelihood, nats (float64 on the host); NaN for no points."""
    terms = _nll_terms(y, mean, var)
    return float(np.mean(terms)) if terms.size else float("nan")


def paired_nll_difference(y, model, baseline, block: int = SE_BLOCK) -> dict[str, float]:
    """Mean over intervals of NLL(model) - NLL(baseline) (each a (mean, variance) pair of arrays
    over `y`'s intervals, in time order; < 0: the model is better), its SE treating intervals
    as independent, and its SE by batch means over consecutive blocks of `block` intervals."""
    d = _nll_terms(y, *model) - _nll_terms(y, *baseline)
    n_blocks = d.size // block
    if d.size < 2:
        return {"mean": float(np.mean(d)) if d.size else float("nan"), "se": float("nan"),
                "se_blocks": float("nan")}  # fmt: skip
    means = d[: n_blocks * block].reshape(n_blocks, block).mean(1)
    se_blocks = float(means.std(ddof=1) / np.sqrt(n_blocks)) if n_blocks > 1 else float("nan")
    return {
        "mean": float(d.mean()),
        "se": float(d.std(ddof=1) / np.sqrt(d.size)),
        "se_blocks": se_blocks,
    }


def ewma_variance(y, initial_var: float, lam: float = EWMA_LAMBDA) -> np.ndarray:
    """(n,) one-step-ahead variance v_i = lam v_{i-1} + (1 - lam) y_{i-1}^2, v_0 = initial_var."""

    def body(v, yi):
        return lam * v + (1 - lam) * yi**2, v

    _, v = jax.lax.scan(body, jnp.float32(initial_var), jnp.asarray(y, jnp.float32))
    return np.asarray(v, np.float64)


def _ols(x, y) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients with intercept first, residuals) of y on [1, x]."""
    design = np.column_stack([np.ones(len(y)), np.asarray(x, np.float64)])
    beta, *_ = np.linalg.lstsq(design, np.asarray(y, np.float64), rcond=None)
    return beta, np.asarray(y, np.float64) - design @ beta


def baseline_predictions(y, ofi, train: np.ndarray, test: np.ndarray) -> dict[str, tuple]:
    """(mean, variance) arrays on the `test` intervals of "unconditional" N(train mean, train
    var), "ewma" N(0, EWMA var) (run over all intervals in time order, started at the train
    variance) and "nowcast" N(a + b OFI, residual var), all fitted on `train`; `y` (n,) mid
    changes bps over consecutive intervals, `ofi` (n,) shares."""
    y = np.asarray(y, np.float64)
    mu, var = y[train].mean(), y[train].var()
    beta, resid = _ols(np.asarray(ofi)[train], y[train])
    now = beta[0] + beta[1] * np.asarray(ofi, np.float64)
    n = int(np.sum(test))
    return {
        "unconditional": (np.full(n, mu), np.full(n, var)),
        "ewma": (np.zeros(n), ewma_variance(y, var)[test]),
        "nowcast": (now[test], np.full(n, resid.var())),
    }


def price_baselines(y, ofi, train: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """NLL on `test` of each of `baseline_predictions`, keyed "nll_<name>"."""
    y_test = np.asarray(y, np.float64)[test]
    preds = baseline_predictions(y, ofi, train, test)
    return {f"nll_{k}": gaussian_nll(y_test, *mv) for k, mv in preds.items()}


def windowed_r2(y, x, times_s, window_s: float) -> np.ndarray:
    """R^2 of y on [1, x] within each window of `window_s` seconds (windows with >= 3 points)."""
    times = np.asarray(times_s, np.float64)
    which = np.floor((times - times[0]) / window_s).astype(int)
    out = []
    for w in np.unique(which):
        sel = which == w
        if sel.sum() >= 3 and np.var(y[sel]) > 0:
            _, resid = _ols(np.asarray(x)[sel], np.asarray(y)[sel])
            out.append(1.0 - resid.var() / np.var(y[sel]))
    return np.asarray(out)


@lru_cache(maxsize=4)
def _softmax_fit(n_steps: int, learning_rate: float):
    opt = optax.adam(learning_rate)

    @jax.jit
    def fit(x, y, weight):
        w0 = (jnp.zeros((x.shape[1], len(Move))), jnp.zeros(len(Move)))

        def loss(w):
            logits = x @ w[0] + w[1]
            ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
            return jnp.sum(weight * ce) / jnp.sum(weight)

        def body(carry, _):
            w, s = carry
            g = jax.grad(loss)(w)
            u, s = opt.update(g, s, w)
            return (optax.apply_updates(w, u), s), None

        (w, _), _ = jax.lax.scan(body, (w0, opt.init(w0)), None, length=n_steps)
        return w

    return fit


def softmax_regression_weights(
    x_train, y_train, n_steps: int = 400, learning_rate: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """(kernel (D, 3), bias (3,)) of a multinomial logistic regression, logits = x @ kernel +
    bias on the raw features x, fitted on standardised `x_train` (N, D) (Adam, `n_steps` full
    batches) with balanced class weights (the same weighting the world model's heads use)."""
    x_train = np.asarray(x_train, np.float32)
    mean, std = x_train.mean(0), np.maximum(x_train.std(0), 1e-6)
    y = np.asarray(y_train)
    freq = np.bincount(y, minlength=len(Move)) / len(y)
    cw = 1.0 / (len(Move) * np.maximum(freq, 1e-3))
    # rows padded to a power of two with zero weight: one compilation serves many sizes
    pad = (1 << max(len(y) - 1, 1).bit_length()) - len(y)
    x_pad = np.concatenate([(x_train - mean) / std, np.zeros((pad, x_train.shape[1]), np.float32)])
    w, b = _softmax_fit(n_steps, learning_rate)(
        jnp.asarray(x_pad),
        jnp.asarray(np.r_[y, np.zeros(pad, y.dtype)]),
        jnp.asarray(np.r_[cw[y], np.zeros(pad)], jnp.float32),
    )
    kernel = np.asarray(w) / std[:, None]
    return kernel, (np.asarray(b) - mean @ kernel).astype(np.float32)


def softmax_regression_logits(x_train, y_train, *x_eval, **kwargs) -> list[np.ndarray]:
    """Logits (N_i, 3) on each of `x_eval` of `softmax_regression_weights` fitted on
    (`x_train`, `y_train`)."""
    kernel, bias = softmax_regression_weights(x_train, y_train, **kwargs)
    return [np.asarray(x, np.float32) @ kernel + bias for x in x_eval]


def softmax_regression(x_train, y_train, x_test, **kwargs) -> np.ndarray:
    """Predicted classes (argmax of `softmax_regression_logits`) on `x_test`."""
    return np.argmax(softmax_regression_logits(x_train, y_train, x_test, **kwargs)[0], axis=1)
