"""Classification scores shared by the learned models."""

from __future__ import annotations

import numpy as np


def macro_f1(y_true, y_pred, n_classes: int) -> float:
    """Unweighted mean of the per-class F1 = 2·TP / (2·TP + FP + FN) over the classes in
    0..n_classes-1 that occur in `y_true` or `y_pred` (as scikit-learn's default); NaN if none."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    true_counts = np.bincount(y_true, minlength=n_classes)[:n_classes]
    pred_counts = np.bincount(y_pred, minlength=n_classes)[:n_classes]
    hits = np.bincount(y_true[y_true == y_pred], minlength=n_classes)[:n_classes]
    present = (true_counts + pred_counts) > 0
    if not present.any():
        return float("nan")
    return float(np.mean(2.0 * hits[present] / (true_counts + pred_counts)[present]))


#: class-offset grid of `macro_f1_offsets` (logit units)
OFFSET_GRID = np.round(np.arange(-2.0, 2.0001, 0.02), 2)


def macro_f1_offsets(logits, y_true, grid=OFFSET_GRID) -> np.ndarray:
    """(3,) offsets (0, a, b) added to 3-class `logits` (N, 3) before the argmax that maximise
    the macro-F1 on `y_true` (N,), a and b over `grid` jointly: the macro-F1 decision rule tuned
    on held-out rows (Lipton, Elkan & Naryanaswamy 2014). Exhaustive and exact: for each a, a
    row turns to class 2 once b passes its threshold, so sorted thresholds give the confusion
    matrices of every b at once. Ties go to the smallest |a| + |b| (the plain argmax wins when
    nothing beats it)."""
    logits = np.asarray(logits, np.float64)
    y = np.asarray(y_true).ravel()
    if logits.ndim != 2 or logits.shape[1] != 3:
        raise ValueError(f"logits: expected shape (N, 3), got {logits.shape}")
    grid = np.asarray(grid, np.float64)
    u, v = logits[:, 1] - logits[:, 0], logits[:, 2] - logits[:, 0]
    conf = np.zeros((grid.size, grid.size, 3, 3))  # (a, b, true, predicted)
    for i, a in enumerate(grid):
        base = (u + a > 0).astype(int)  # class 1 over 0 (argmax keeps the first on ties)
        t = np.maximum(-v, u + a - v)  # class 2 iff b > t
        for yc in range(3):
            for bc in (0, 1):
                ts = np.sort(t[(y == yc) & (base == bc)])
                to_2 = np.searchsorted(ts, grid, side="left")  # rows with t < b
                conf[i, :, yc, bc] += ts.size - to_2
                conf[i, :, yc, 2] += to_2
    hits = np.diagonal(conf, axis1=2, axis2=3)
    denom = conf.sum(3) + conf.sum(2)  # true + predicted counts per class
    present = denom > 0
    f1 = np.where(present, 2.0 * hits / np.maximum(denom, 1), 0.0).sum(-1)
    f1 = f1 / np.maximum(present.sum(-1), 1)
    size = np.abs(grid)[:, None] + np.abs(grid)[None, :]
    best = np.flatnonzero(f1.ravel() >= f1.max() - 1e-12)
    i, j = np.unravel_index(best[np.argmin(size.ravel()[best])], f1.shape)
    return np.array([0.0, grid[i], grid[j]])


def paired_f1_difference(y_true, pred_a, pred_b, blocks, n_classes: int = 3, n_boot: int = 200,
                         seed: int = 0) -> dict[str, float]:  # fmt: skip
    """macro-F1(pred_a) - macro-F1(pred_b) on the same rows and its SE by a block bootstrap:
    whole blocks (`blocks` (N,) ids, e.g. 5-minute windows, since overlapping labels and
    volatility cluster in time) drawn with replacement, `n_boot` times (fixed `seed`)."""
    y, a, b = (np.asarray(x).ravel() for x in (y_true, pred_a, pred_b))
    ids = np.unique(np.asarray(blocks).ravel(), return_inverse=True)[1]
    members = [np.flatnonzero(ids == i) for i in range(ids.max() + 1)] if ids.size else []
    diff = macro_f1(y, a, n_classes) - macro_f1(y, b, n_classes)
    if len(members) < 2:
        return {"mean": float(diff), "se_blocks": float("nan"), "n_blocks": len(members)}
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        rows = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        boot.append(macro_f1(y[rows], a[rows], n_classes) - macro_f1(y[rows], b[rows], n_classes))
    return {"mean": float(diff), "se_blocks": float(np.std(boot, ddof=1)),
            "n_blocks": len(members)}  # fmt: skip
