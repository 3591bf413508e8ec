"""Simulator-backed TCA: how far a realised shortfall is from what the simulator expected, and a
drift monitor over consecutive windows with Prometheus metrics.

A window is one order or several; its statistic is the mean realised IS over its orders, and
the simulator's expectation for it is the distribution of the path-wise mean of the orders'
simulated IS (paths of different orders are independent draws, so the mean of the j-th paths
is one draw of the window mean). `divergence_bps` = realised - expected median.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wmjax._checks import finite_array, positive, positive_int, require

TCA_SCHEMA = "tca_divergence_v1"


def simulator_version() -> str:
    """The simulator that produced expectations: package version and market model."""
    import wmjax

    return f"wmjax {wmjax.__version__} impact-market"


def tca_divergence(realised_is_bps, simulated_is_bps, version: str | None = None) -> dict:
    """A `tca_divergence_v1` record for one window.

    Args:
        realised_is_bps: the window's realised IS, a number or (k,) for k orders.
        simulated_is_bps: (n_paths,) or (k, n_paths) simulated IS of the same orders.
        version: simulator version string (default `simulator_version()`).
    """
    real = np.atleast_1d(finite_array("realised_is_bps", realised_is_bps))
    sim = finite_array("simulated_is_bps", simulated_is_bps)
    sim = sim[None] if sim.ndim == 1 else sim
    require(
        sim.ndim == 2 and sim.shape[1] >= 2,
        "simulated_is_bps must be (n_paths,) or "
        f"(k, n_paths) with n_paths >= 2, got shape {sim.shape}",
    )
    require(
        real.ndim == 1 and real.size == sim.shape[0],
        f"realised_is_bps has {real.size} orders but simulated_is_bps {sim.shape[0]}",
    )
    window = sim.mean(axis=0)
    p50, p95 = np.quantile(window, [0.5, 0.95])
    realised = float(real.mean())
    return {
        "schema_version": TCA_SCHEMA,
        "expected_shortfall_bps_p50": float(p50),
        "expected_shortfall_bps_p95": float(p95),
        "realized_shortfall_bps": realised,
        "divergence_bps": realised - float(p50),
        "simulator_version": version or simulator_version(),
    }


def drift_alerts(divergences_bps, threshold_bps: float, consecutive: int) -> np.ndarray:
    """Boolean per window: |divergence| > threshold in this window and the `consecutive` - 1
    before it (the alert of `DriftMonitor`, computed for a whole series at once)."""
    d = np.abs(finite_array("divergences_bps", divergences_bps, ndim=1))
    thr = float(positive("threshold_bps", threshold_bps))
    n = positive_int("consecutive", consecutive)
    over = (d > thr).astype(np.int64)
    csum = np.concatenate([[0], np.cumsum(over)])
    idx = np.arange(d.size)
    window = csum[idx + 1] - csum[np.maximum(idx + 1 - n, 0)]
    return (idx + 1 >= n) & (window == n)


METRICS = {
    "execution_slippage_bps": ("gauge", "realised shortfall of the last window, bps"),
    "execution_shortfall_notional": ("gauge", "realised shortfall of the last window, currency"),
    "tca_simulator_divergence_bps": ("gauge", "realised minus simulated median, last window, bps"),
    "execution_policy_override_total": ("counter", "advice overridden or tightened by limits"),
    "execution_adverse_selection_flag_total": (
        "counter",
        "windows whose realised shortfall exceeded the simulated p95",
    ),
    "tca_drift_alert": ("gauge", "1 while divergence exceeded the threshold N windows running"),
}


@dataclass
class DriftMonitor:
    """Raises an alert when |divergence_bps| > `threshold_bps` for `consecutive` windows running.

    Feed it `tca_divergence_v1` records with `update`; read `metrics()` or `prometheus()`.
    A window is flagged for adverse selection when its realised shortfall exceeds the
    simulator's p95; advice overrides are counted from `update(..., overrides=k)`.
    """

    threshold_bps: float = 10.0
    consecutive: int = 3
    run: int = 0
    alert: bool = False
    windows: int = 0
    override_total: int = 0
    adverse_selection_total: int = 0
    last: dict = field(default_factory=dict)
    last_notional: float = 0.0

    def __post_init__(self):
        self.threshold_bps = float(positive("threshold_bps", self.threshold_bps))
        self.consecutive = positive_int("consecutive", self.consecutive)

    def update(self, record: dict, notional: float = 0.0, overrides: int = 0) -> bool:
        """Take one window's record (and its arrival notional, currency; and the number of advice
        overrides in it); returns whether the drift alert is on."""
        div = float(finite_array("record.divergence_bps", record["divergence_bps"]))
        self.run = self.run + 1 if abs(div) > self.threshold_bps else 0
        self.alert = self.run >= self.consecutive
        self.windows += 1
        self.override_total += int(positive("overrides", overrides, allow_zero=True))
        if record["realized_shortfall_bps"] > record["expected_shortfall_bps_p95"]:
            self.adverse_selection_total += 1
        self.last = dict(record)
        self.last_notional = float(record["realized_shortfall_bps"]) * 1e-4 * float(notional)
        return self.alert

    def metrics(self) -> dict:
        return {
            "execution_slippage_bps": float(self.last.get("realized_shortfall_bps", 0.0)),
            "execution_shortfall_notional": self.last_notional,
            "tca_simulator_divergence_bps": float(self.last.get("divergence_bps", 0.0)),
            "execution_policy_override_total": self.override_total,
            "execution_adverse_selection_flag_total": self.adverse_selection_total,
            "tca_drift_alert": int(self.alert),
        }

    def prometheus(self, labels: dict | None = None) -> str:
        """The metrics in the Prometheus text exposition format (version 0.0.4)."""
        label = ""
        if labels:
            inner = ",".join(
                f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                for k, v in sorted(labels.items())
            )
            label = "{" + inner + "}"
        lines = []
        for name, value in self.metrics().items():
            kind, help_text = METRICS[name]
            lines += [
                f"# HELP {name} {help_text}",
                f"# TYPE {name} {kind}",
                f"{name}{label} {value:.17g}"
                if isinstance(value, float)
                else f"{name}{label} {value}",
            ]
        return "\n".join(lines) + "\n"
