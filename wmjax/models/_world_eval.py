"""Fit and judge the order-book world model on one stream split in time, beside its baselines.

`prepare_world_data` splits a stream chronologically (training rows' labels end before the test
period), `evaluate_world_model` scores a fit on the test period: the Gaussian NLL of the mid
change over the clock horizon on the clock grid (beside the unconditional, EWMA and OFI-nowcast
baselines), macro-F1 of raw-sign directions at each event horizon (beside a softmax regression on
the six hand features), smoothed-label scores only beside the one-feature baseline (mid minus the
mean of the past window), class balance, and the OFI nowcast's R^2 per half hour.
`calibrate_price_head` refits the price head's mean shrink and variance scale on the validation
slice at the end of the training period; `calibrate_direction_heads` tunes class offsets of the
direction logits for macro-F1 there, and the softmax baseline gets the same rule, tuned the
same way, beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from wmjax.features import (
    BookStream,
    Move,
    Split,
    chronological_split,
    class_balance,
    direction,
    microstructure_state,
    ofi_events,
    past_mean_gap_bps,
    smoothed_change_bps,
)
from wmjax.models._metrics import macro_f1, macro_f1_offsets, paired_f1_difference
from wmjax.models._world_baselines import (
    baseline_predictions,
    gaussian_nll,
    paired_nll_difference,
    softmax_regression,
    softmax_regression_logits,
    windowed_r2,
)
from wmjax.models._world_data import (
    Normalizer,
    WorldData,
    WorldDataConfig,
    clock_grid_changes,
    ewma_prior_log_var,
    label_horizon,
    world_data,
)
from wmjax.models._world_train import WorldModelFit, _predict_raw, predict_world_model

SMOOTHED_THRESHOLD_BPS = 0.2
VALIDATION_FRACTION = 0.2
R2_WINDOW_S = 1800.0
#: blocks of the macro-F1 differences' bootstrap (overlapping labels cluster in time)
F1_BLOCK_S = 300.0


@dataclass
class PreparedData:
    """A stream's model data and its chronological split (row indices)."""

    stream: BookStream
    data: WorldData
    normalizer: Normalizer
    split: Split
    train_rows: np.ndarray
    test_rows: np.ndarray
    fit_rows: np.ndarray  # training rows for the optimiser (labels end before validation)
    val_rows: np.ndarray  # the last VALIDATION_FRACTION of the training period
    grid_rows: np.ndarray  # (G,) rows at the clock grid's interval starts, in time order
    grid_y_bps: np.ndarray  # (G,) mid change over each grid interval
    grid_prior_log_var: np.ndarray  # (G,) log EWMA variance forecast at each interval start
    grid_ofi_shares: np.ndarray  # (G,) level-1 OFI over each grid interval (the nowcast's x)
    grid_s: np.ndarray  # (G,) interval start times
    grid_train: np.ndarray  # (G,) bool, interval ends at or before the test start
    grid_test: np.ndarray  # (G,) bool, interval starts at or after it


def prepare_world_data(
    stream: BookStream,
    config: WorldDataConfig,
    test_start_s: float,
    normalizer: Normalizer | None = None,
) -> PreparedData:
    """Features, targets and split of `stream`; with `normalizer` (a fit on another stream) every
    row can be a test row and nothing is re-estimated."""
    horizon = label_horizon(stream, config)
    split = chronological_split(stream.times_s, horizon, test_start_s)
    times = np.asarray(stream.times_s, np.float64)
    train_t = times[split.train]
    val_start = float(np.quantile(train_t, 1 - VALIDATION_FRACTION)) if train_t.size else 0.0
    inner = chronological_split(stream.times_s, horizon, val_start)
    data, normalizer = world_data(stream, config, split.train, normalizer)
    h = config.clock_horizon_s
    mid = microstructure_state(stream, config.features).mid_ticks
    rows, grid_s, grid_y = clock_grid_changes(stream.times_s, mid, h)
    _, grid_prior = ewma_prior_log_var(
        stream.times_s, mid, h, float(np.exp(normalizer.price_log_var))
    )
    cum = np.concatenate([[0], np.cumsum(np.asarray(ofi_events(stream))[:, 0])])
    return PreparedData(
        stream=stream,
        data=data,
        normalizer=normalizer,
        split=split,
        train_rows=np.flatnonzero(split.train),
        test_rows=np.flatnonzero(split.test),
        fit_rows=np.flatnonzero(split.train & inner.train),
        val_rows=np.flatnonzero(split.train & inner.test),
        grid_rows=rows[:-1],
        grid_y_bps=grid_y,
        grid_prior_log_var=grid_prior,
        grid_ofi_shares=np.diff(cum[rows + 1]).astype(np.float64),
        grid_s=grid_s[:-1],
        grid_train=grid_s[:-1] + h <= test_start_s,
        grid_test=grid_s[:-1] >= test_start_s,
    )


def calibrate_price_head(fit: WorldModelFit, prep: PreparedData) -> WorldModelFit:
    """`fit` with its price head recalibrated on the validation intervals (clock-grid intervals
    that start at or after the first validation row and end before the test period): the mean
    shrink s in [0, 1] (grid of 21) and, given s, the variance scale c = mean(r^2 / var) that
    minimises the Gaussian NLL (post-hoc variance scaling, as temperature scaling for
    classifiers, Guo et al. 2017). Uses no test data."""
    if prep.val_rows.size == 0:
        return fit
    t0 = float(np.asarray(prep.stream.times_s, np.float64)[prep.val_rows.min()])
    sel = prep.grid_train & (prep.grid_s >= t0)
    if sel.sum() < 10:
        return fit
    raw = replace(fit, price_calibration=(1.0, 1.0))
    mean, log_var, _ = predict_world_model(
        raw, prep.data, prep.grid_rows[sel], prep.grid_prior_log_var[sel]
    )
    y, var = prep.grid_y_bps[sel], np.exp(np.asarray(log_var, np.float64))
    best = (np.inf, 1.0, 1.0)
    for s in np.linspace(0.0, 1.0, 21):
        mu = s * np.asarray(mean, np.float64)
        c = float(np.mean((y - mu) ** 2 / var))
        nll = gaussian_nll(y, mu, c * var)
        best = min(best, (nll, float(s), c))
    return replace(fit, price_calibration=(best[1], best[2]))


def calibrate_direction_heads(fit: WorldModelFit, prep: PreparedData) -> WorldModelFit:
    """`fit` with per-horizon class offsets (added to the direction logits before the argmax)
    that maximise the macro-F1 of raw-sign labels on the validation rows (`macro_f1_offsets`).
    Uses no test data; without validation rows the plain argmax stays."""
    if prep.val_rows.size == 0:
        return fit
    _, _, logits = _predict_raw(fit, prep.data, prep.val_rows)
    labels = np.asarray(prep.data.direction)[prep.val_rows]
    offsets = np.stack([macro_f1_offsets(logits[:, j], y) for j, y in enumerate(labels.T)])
    return replace(fit, direction_offsets=offsets.astype(np.float32))


def evaluate_world_model(
    fit: WorldModelFit, prep: PreparedData, baseline_prep: PreparedData | None = None
) -> dict:
    """Test-period scores of `fit` and of the baselines (fitted on `baseline_prep`'s training
    rows, by default `prep`'s; for a transfer test pass the stream the model was fitted on)."""
    cfg = fit.data_config
    base = baseline_prep or prep
    te = prep.grid_test
    mean, log_var, _ = predict_world_model(
        fit, prep.data, prep.grid_rows[te], prep.grid_prior_log_var[te]
    )
    test_y = prep.grid_y_bps[prep.grid_test]
    model = (mean, np.exp(np.asarray(log_var, np.float64)))
    out = {"nll_10s": gaussian_nll(test_y, *model)}
    baselines = _price_baselines(prep, base)
    out |= {f"nll_{k}": gaussian_nll(test_y, *mv) for k, mv in baselines.items()}
    out["nll_10s_minus"] = {
        k: paired_nll_difference(test_y, model, baselines[k]) for k in ("unconditional", "ewma")
    }
    out["n_test"] = int(prep.grid_test.sum())

    _, _, logits = _predict_raw(fit, prep.data, prep.test_rows)
    tuned = fit.direction_offsets is not None
    offsets = np.zeros((len(cfg.horizons), 3)) if not tuned else np.asarray(fit.direction_offsets)
    labels = np.asarray(prep.data.direction)
    hand_test = np.asarray(microstructure_state(prep.stream, cfg.features).hand_features())
    hand_train = np.asarray(microstructure_state(base.stream, cfg.features).hand_features())
    base_labels = np.asarray(base.data.direction)
    f1 = {name: {} for name in ("model", "model_argmax", "soft", "soft_argmax")}
    balance, soft_offsets, minus = {}, [], {"reported": {}, "argmax": {}}
    times = np.asarray(prep.stream.times_s, np.float64)[prep.test_rows]
    blocks = np.floor((times - times[:1]) / F1_BLOCK_S) if times.size else times
    for j, k in enumerate(cfg.horizons):
        y_test = labels[prep.test_rows, j]
        soft_val, soft_test = softmax_regression_logits(
            hand_train[base.train_rows], base_labels[base.train_rows, j],
            hand_train[base.val_rows], hand_test[prep.test_rows],
        )  # fmt: skip
        # the baseline's decision rule: the model's (tuned on the same validation rows, or none)
        off = macro_f1_offsets(soft_val, base_labels[base.val_rows, j]) if tuned else np.zeros(3)
        soft_offsets.append(off.tolist())
        scores = {
            "model": logits[:, j] + offsets[j],
            "model_argmax": logits[:, j],
            "soft": soft_test + off,
            "soft_argmax": soft_test,
        }
        classes = {name: np.argmax(x, axis=1) for name, x in scores.items()}
        for name, c in classes.items():
            f1[name][str(k)] = macro_f1(y_test, c, len(Move))
        for rule, suffix in (("reported", ""), ("argmax", "_argmax")):
            minus[rule][str(k)] = paired_f1_difference(
                y_test, classes["model" + suffix], classes["soft" + suffix], blocks
            )
        balance[str(k)] = class_balance(y_test).tolist()
    out |= {
        "macro_f1_raw": f1["model"],
        "macro_f1_raw_softmax6": f1["soft"],
        "macro_f1_raw_argmax": f1["model_argmax"],
        "macro_f1_raw_softmax6_argmax": f1["soft_argmax"],
        "direction_offsets": {"model": offsets.tolist(), "softmax6": soft_offsets},
        # model minus softmax, block-bootstrap SE over 5-minute blocks; "reported" is the rule
        # of macro_f1_raw (the tuned offsets when the fit is calibrated, else the argmax)
        "macro_f1_raw_minus_softmax6": minus,
        "class_balance_raw": balance,
        "n_test_events": int(prep.test_rows.size),
        "smoothed": _smoothed_scores(prep, base, hand_test, hand_train, cfg.horizons),
    }
    return out


def _price_baselines(prep: PreparedData, base: PreparedData) -> dict:
    """`baseline_predictions` fitted on `base`'s training intervals for `prep`'s test ones (for
    another stream the EWMA runs on through the training intervals, then the test ones)."""
    y = [p.grid_y_bps for p in (base, prep)]
    ofi = [p.grid_ofi_shares for p in (base, prep)]
    if base is prep:
        return baseline_predictions(y[0], ofi[0], prep.grid_train, prep.grid_test)
    tr, te = base.grid_train, prep.grid_test
    train = np.r_[np.ones(tr.sum(), bool), np.zeros(te.sum(), bool)]
    return baseline_predictions(
        np.r_[y[0][tr], y[1][te]], np.r_[ofi[0][tr], ofi[1][te]], train, ~train
    )


def ofi_nowcast_r2(prep: PreparedData, window_s: float = R2_WINDOW_S):
    """(per-window R^2, mean) of the grid-interval mid change on the interval's own OFI
    (CKS 2014 section 3, half-hour windows by default)."""
    r2 = windowed_r2(prep.grid_y_bps, prep.grid_ofi_shares, prep.grid_s, window_s)
    return r2, float(r2.mean())


def _smoothed_scores(prep, base, hand_test, hand_train, horizons) -> dict:
    """Per k: macro-F1 of the six-feature softmax regression on smoothed labels beside the
    one-feature baseline (mid minus mean of the past k mids) and the class balance."""
    mid_test = microstructure_state(prep.stream).mid_ticks
    mid_train = microstructure_state(base.stream).mid_ticks
    out = {}
    for k in horizons:
        ch_te, ok_te = (np.asarray(x) for x in smoothed_change_bps(mid_test, k))
        ch_tr, ok_tr = (np.asarray(x) for x in smoothed_change_bps(mid_train, k))
        te = prep.test_rows[ok_te[prep.test_rows]]
        tr = base.train_rows[ok_tr[base.train_rows]]
        y_te = np.asarray(direction(ch_te, SMOOTHED_THRESHOLD_BPS))[te]
        y_tr = np.asarray(direction(ch_tr, SMOOTHED_THRESHOLD_BPS))[tr]
        gap_te = np.asarray(past_mean_gap_bps(mid_test, k))[te, None]
        gap_tr = np.asarray(past_mean_gap_bps(mid_train, k))[tr, None]
        out[str(k)] = {
            "threshold_bps": SMOOTHED_THRESHOLD_BPS,
            "f1_softmax6": macro_f1(
                y_te, softmax_regression(hand_train[tr], y_tr, hand_test[te]), len(Move)
            ),
            "f1_one_feature_past_mean": macro_f1(
                y_te, softmax_regression(gap_tr, y_tr, gap_te), len(Move)
            ),
            "class_balance": class_balance(y_te).tolist(),
        }
    return out
