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
