"""Alerts of a live order, raised and cleared as the order runs (deterministic rules).

* `divergence`: |IS so far - simulated median| above `threshold_bps` for `consecutive`
  intervals running (`wmjax.analytics.DriftMonitor` over `tca_divergence_v1` records).
* `adverse_selection`: at least `adverse_min_flags` of the last `adverse_window` intervals were
  flagged (IS so far above the simulated p95, or the advisor's adverse-selection risk at least
  `adverse_risk`) while participation is at least `high_participation` of its ceiling.
* `stale`: the advisor's input state is missing or older than the limits' `max_state_age_ms`
  (the advice fell back to the baseline policy).
* `strategy_error`: the strategy raised; the order continues on the baseline policy.
* `malformed`: a state message was rejected (the last one; cleared by the next valid one).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from wmjax.analytics import DriftMonitor


@dataclass(frozen=True)
class AlertRules:
    """Thresholds of the alerts (see the module doc)."""

    threshold_bps: float = 10.0
    consecutive: int = 3
    adverse_window: int = 3
    adverse_min_flags: int = 2
    adverse_risk: float = 0.5
    high_participation: float = 0.8


class Alerts:
    """The active alerts of one order; `set` returns an alert event when one changes."""

    def __init__(self, rules: AlertRules):
        self.rules = rules
        self.drift = DriftMonitor(rules.threshold_bps, rules.consecutive)
        self.flags: deque = deque(maxlen=rules.adverse_window)
        self.active: dict[str, str] = {}

    def set(self, kind: str, on: bool, message: str = "") -> dict | None:
        """Raise (with `message`) or clear alert `kind`; an event dict when it changed."""
        if on and self.active.get(kind) != message:
            self.active[kind] = message
            return {"type": "alert", "kind": kind, "active": True, "message": message}
        if not on and kind in self.active:
            del self.active[kind]
            return {"type": "alert", "kind": kind, "active": False, "message": "cleared"}
        return None

    def interval(
        self,
        record: dict,
        notional: float,
        overrides: int,
        risk: float,
        participation: float,
        ceiling: float,
    ) -> tuple[list[dict], bool]:
        """Update the divergence and adverse-selection alerts with one interval's TCA record;
        returns (alert events, whether this interval was flagged for adverse selection)."""
        before = self.drift.adverse_selection_total
        on = self.drift.update(record, notional=notional, overrides=overrides)
        flagged = self.drift.adverse_selection_total > before or risk >= self.rules.adverse_risk
        self.flags.append(flagged)
        r = self.rules
        div = record["divergence_bps"]
        events = [
            self.set(
                "divergence",
                on,
                f"IS so far {div:+.1f} bps from the simulated median for {self.drift.run} "
                f"intervals (threshold {r.threshold_bps:g} bps, {r.consecutive} running)",
            )
        ]
        high = ceiling > 0 and participation >= r.high_participation * ceiling
        spiking = sum(self.flags) >= r.adverse_min_flags
        events.append(
            self.set(
                "adverse_selection",
                spiking and high,
                f"{sum(self.flags)} of the last {len(self.flags)} intervals flagged for adverse "
                f"selection at participation {participation:.3f} (ceiling {ceiling:.3f})",
            )
        )
        return [e for e in events if e is not None], flagged
