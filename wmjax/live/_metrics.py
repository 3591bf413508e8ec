"""Prometheus metrics of the live sessions (`prometheus_client`, one registry per server so
several servers in one process do not collide). Names and labels follow the seed's
(`wmjax.analytics.METRICS` describes them): slippage and shortfall per symbol and strategy,
adverse-selection flags per symbol, the simulator divergence per symbol, policy overrides by
reason (a closed set: fallback_stale, fallback_missing, advisor_disabled, limits_clip, controls,
strategy_error)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from wmjax.analytics import METRICS


class LiveMetrics:
    """The five metrics, updated from session events by `observe(symbol, strategy, event)`."""

    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.slippage = Gauge(
            "execution_slippage_bps",
            METRICS["execution_slippage_bps"][1],
            ["symbol", "strategy"],
            registry=r,
        )
        self.shortfall = Gauge(
            "execution_shortfall_notional",
            METRICS["execution_shortfall_notional"][1],
            ["symbol", "strategy"],
            registry=r,
        )
        self.adverse = Counter(
            "execution_adverse_selection_flag",
            "intervals flagged for adverse selection",
            ["symbol"],
            registry=r,
        )
        self.divergence = Gauge(
            "tca_simulator_divergence_bps",
            METRICS["tca_simulator_divergence_bps"][1],
            ["symbol"],
            registry=r,
        )
        self.overrides = Counter(
            "execution_policy_override",
            METRICS["execution_policy_override_total"][1],
            ["reason"],
            registry=r,
        )

    def observe(self, symbol: str, strategy: str, event: dict) -> None:
        kind = event["type"]
        if kind == "tick":
            self.slippage.labels(symbol, strategy).set(event["is_bps"])
            self.shortfall.labels(symbol, strategy).set(event["shortfall_notional"])
            self.divergence.labels(symbol).set(event["divergence_bps"])
            if event["adverse_flag"]:
                self.adverse.labels(symbol).inc()
        elif kind == "advice" and event["override_reason"]:
            self.overrides.labels(event["override_reason"]).inc()
        elif kind == "override":
            self.overrides.labels(event["reason"]).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
