"""A live session: one parent order worked interval by interval against a feed, streaming its
child orders, fills, advice (with provenance) and alerts as event dicts.

Each interval: the state stream yields a `microstructure_state_v1` (unless stalled); the
bounded advisor (`wmjax.analytics.advise`) turns it into advice, falling back to the limits'
baseline when the state is stale or missing or when `EXECUTION_ADVISOR_ENABLED=false`; an
optional `controls(advice, view) -> (advice, reasons)` hook (the risk layer) may tighten it
(a loosening is refused); the strategy's child order is capped at the advice's participation
ceiling times the interval's volume ("advisor": POV at the advised rate); the feed fills it and
the IS so far is compared with the pre-trade band (`_band`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime

import jax
import numpy as np

from wmjax._checks import InputError
from wmjax.analytics import (
    AdvisorConfig,
    AdvisorMemory,
    advise,
    advise_batch,
    limits_version,
    named_strategy_params,
    strategy_policy,
    tca_divergence,
    validate,
)
from wmjax.desk import advisor_enabled, choose
from wmjax.execution import Observation
from wmjax.live._alerts import Alerts
from wmjax.live._band import ADVISOR, base_strategy, pretrade_band
from wmjax.live._config import SessionConfig, make_feed
from wmjax.live._provenance import identity_controls, override_reason
from wmjax.market._impact_market import ImpactObservation

_policy = jax.jit(strategy_policy)


class LiveSession:
    """One parent order worked live (see the module doc). `step(now_s)` runs the next interval
    and returns its events; `watch(now_s)` between intervals raises the staleness fallback as
    soon as the state passes its age limit; `resume(events)` rebuilds a persisted session."""

    def __init__(self, sid: str, config: SessionConfig, controls: Callable | None = None):
        self.id, self.config = sid, config
        self.controls = identity_controls if controls is None else controls
        self.feed = make_feed(config)
        self.order = self.feed.order
        self.quantity = float(self.order.quantity_shares)
        self.side = float(self.order.side)
        self.strategy = config.strategy
        base = base_strategy(config.strategy, config.target_participation)
        self.band = pretrade_band(self.feed, self.order, base, config.band_paths)
        sp = named_strategy_params((base,), self.order, self.feed.params)
        self._params = jax.tree.map(lambda x: x[0], sp)
        self.advisor_config = AdvisorConfig(
            side=self.side,
            target_participation=config.target_participation,
            adv_usd=float(self.feed.params.daily_volume_shares) * self.feed.arrival_price,
            daily_volatility=float(self.feed.params.sigma) / self.feed.arrival_price,
            interval_s=self.feed.interval_s,
            n_paths=config.advisor_paths,
        )
        self.limits = validate(config.limits_dict(), "execution_limits_v1", "limits")
        self.limits_version = limits_version(self.limits)
        self.key = jax.random.key(config.seed + 7919)
        # the advisor's key of each interval, split once (no key arithmetic per interval)
        self._keys = list(jax.random.split(self.key, self.feed.n_steps + 1))
        self.memory = AdvisorMemory()
        self.alerts = Alerts(config.alert_rules())
        self.k, self.filled, self.notional = 0, 0.0, 0.0
        self.market_notional, self.market_volume = 0.0, 0.0
        self.state: dict | None = None
        self.stall_until_s = 0.0
        self.crash_at: int | None = config.crash_strategy_at_step
        self.strategy_failed = False
        self.advice: dict | None = None
        self._warm()

    def _warm(self) -> None:
        """Compile this configuration's jitted pieces now (advisor, policy, market step) by
        calling them and discarding the results (pure functions), so a new session's compile
        never stalls the interval thread that every running session shares."""
        tick = self.feed.observe(0)
        state = self._own_state(tick, 0.0)
        advise_batch(self.key, [state], [self.limits], self.advisor_config)
        self._policy_shares(tick, self.quantity)
        warm = getattr(self.feed, "warm", None)
        if warm is not None:
            warm()

    @property
    def done(self) -> bool:
        return self.k >= self.feed.n_steps

    @property
    def is_so_far_bps(self) -> float:
        """IS so far, bps of the arrival notional (without the unfilled rest's opportunity
        cost until the last interval)."""
        return self._is_bps(None)

    def view(self) -> dict:
        """What the controls hook sees: progress and the order, plain numbers."""
        return {
            "symbol": self.feed.symbol,
            "strategy": self.strategy,
            "step": self.k,
            "n_steps": self.feed.n_steps,
            "side": self.side,
            "quantity_shares": self.quantity,
            "filled_shares": self.filled,
            "is_so_far_bps": self._is_bps(None),
            "arrival_price": self.feed.arrival_price,
        }

    def header(self) -> dict:
        """The session's static description and its pre-trade band (the dashboard's frame)."""
        return {
            "type": "session",
            "symbol": self.feed.symbol,
            "strategy": self.strategy,
            "feed": self.feed.kind,
            "side": "buy" if self.side > 0 else "sell",
            "quantity_shares": self.quantity,
            "n_steps": self.feed.n_steps,
            "interval_s": self.feed.interval_s,
            "arrival_price": self.feed.arrival_price,
            "band": {
                "p05_bps": self.band.p05_bps.tolist(),
                "p50_bps": self.band.p50_bps.tolist(),
                "p95_bps": self.band.p95_bps.tolist(),
                "strategy": self.band.strategy,
            },
            "limits_version": self.limits_version,
            "simulator_version": self.feed.version,
        }

    # --- the state stream -------------------------------------------------------------------
    def _own_state(self, tick, now_s: float) -> dict:
        return {
            "schema_version": "microstructure_state_v1",
            "symbol": self.feed.symbol[:32],
            "event_ts": datetime.fromtimestamp(now_s, UTC).isoformat(),
            "spread_bps": max(tick.spread_bps, 1e-6),
            "depth_top5_usd": max(tick.depth_top5_usd, 1e-6),
            "order_flow_imbalance": float(np.clip(tick.order_flow_imbalance, -1, 1)),
            "latency_ms_estimate": 1.0,
            "fill_hazard": 0.2,
            "liquidity_regime": tick.regime,
        }

    def push_state(self, state) -> tuple[str | None, list[dict]]:
        """Take a state message from an external feed: (None, events) when accepted; a
        malformed one returns (the error, events) with the `malformed` alert raised and leaves
        the last good state in place."""
        try:
            if not isinstance(state, dict):
                raise InputError(f"state: expected a JSON object, got {type(state).__name__}")
            validate(state, "microstructure_state_v1", "state")
            if state["symbol"] != self.feed.symbol[:32]:
                raise InputError(f"state.symbol {state['symbol']!r} is not {self.feed.symbol!r}")
        except InputError as e:
            event = self.alerts.set("malformed", True, f"state message rejected: {e}")
            return str(e), [event] if event else []
        self.state = state
        event = self.alerts.set("malformed", False)
        return None, [event] if event else []

    def stall_state(self, now_s: float, seconds: float) -> None:
        """Fault injection: the state stream produces nothing for `seconds` from `now_s`."""
        self.stall_until_s = now_s + float(seconds)

    # --- advice -------------------------------------------------------------------------------
    def _advise(self, now_s: float) -> list[dict]:
        now = datetime.fromtimestamp(now_s, UTC)
        state = self.state
        enabled = advisor_enabled()
        shadow, self.memory = advise(
            state,
            self.limits,
            now=now,
            memory=self.memory,
            key=self._keys[self.k],
            config=self.advisor_config,
        )
        advice = choose(shadow, state, self.limits, enabled)
        controlled, reasons = self.controls(copy.deepcopy(advice), self.view())
        reasons = list(reasons)
        if controlled["max_participation_rate"] > advice["max_participation_rate"] + 1e-12:
            reasons = [f"controls loosened participation (refused): {'; '.join(reasons)}"]
            controlled = advice
        prov = controlled["provenance"]
        prov.update(
            market_simulator_version=self.feed.version,
            controls_reasons=reasons,
            advisor_memory=self.memory.to_dict(),
        )
        controlled["symbol"] = self.feed.symbol[:32]
        self.advice = validate(controlled, "execution_advice_v1", "advice")
        reason = prov["fallback_reason"] or ""
        stale = prov["fallback"] and reason.startswith(("stale", "missing"))
        events = [
            {
                "type": "advice",
                "step": self.k,
                "advice": self.advice,
                "override_reason": override_reason(self.advice),
            }
        ]
        alert = self.alerts.set("stale", stale, f"advisor input {reason}; baseline policy")
        return events + ([alert] if alert else [])

    def watch(self, now_s: float) -> list[dict]:
        """Between intervals: fall back at once when the state has passed its age limit."""
        if self.done or "stale" in self.alerts.active:
            return []
        limit_ms = float(self.limits["max_state_age_ms"])
        state = self.state
        if state is not None:
            age_ms = (now_s - datetime.fromisoformat(state["event_ts"]).timestamp()) * 1e3
            if age_ms <= limit_ms:
                return []
        return self._advise(now_s)

    # --- one interval -------------------------------------------------------------------------
    def _target(self, tick, remaining: float) -> float:
        if self.crash_at is not None and self.k >= self.crash_at:
            raise RuntimeError(f"injected strategy crash at interval {self.k}")
        return self._policy_shares(tick, remaining)

    def _policy_shares(self, tick, remaining: float) -> float:
        obs = Observation(
            market=ImpactObservation(
                np.float32(tick.mid),
                np.float32(self.feed.arrival_price),
                np.float32(tick.volume_shares),
                np.float32(0.0),
                np.float32(0.0),
                np.float32(self.feed.interval_s / 23400.0),
            ),
            order=self.order,
            step=np.int32(self.k),
            remaining_shares=np.float32(remaining),
            time_left_days=np.float32(0.0),
            n_steps=self.feed.n_steps,
        )
        return float(_policy(self._params, obs))

    def _child(self, tick) -> tuple[float, list[dict]]:
        remaining = self.quantity - self.filled
        ceiling = self.advice["max_participation_rate"]
        cap = ceiling * tick.volume_shares if tick.volume_shares > 0 else remaining
        events = []
        if self.strategy == ADVISOR and not self.strategy_failed:
            want = cap
        elif self.strategy_failed:
            want = float(self.limits["baseline"]["max_participation_rate"]) * tick.volume_shares
        else:
            try:
                want = self._target(tick, remaining)
            except Exception as e:  # a crashed strategy must not stop the order or the server
                self.strategy_failed = True
                msg = f"strategy {self.strategy} failed ({type(e).__name__}: {e}); baseline"
                events.append(self.alerts.set("strategy_error", True, msg))
                events.append({"type": "override", "reason": "strategy_error", "step": self.k})
                want = float(self.limits["baseline"]["max_participation_rate"]) * tick.volume_shares
        return float(max(0.0, min(want, cap, remaining))), events

    def step(self, now_s: float) -> list[dict]:
        """Run the next interval at wall time `now_s` (seconds since the epoch)."""
        if self.done:
            return []
        tick = self.feed.observe(self.k)
        if now_s >= self.stall_until_s:
            self.state = self._own_state(tick, now_s)
        events = self._advise(now_s)
        shares, extra = self._child(tick)
        events += extra
        events.append(
            {
                "type": "child",
                "step": self.k,
                "shares": shares,
                "order_type": self.advice["preferred_order_type"],
                "ceiling": self.advice["max_participation_rate"],
            }
        )
        filled, price, mid_after = self.feed.execute(self.k, shares)
        return events + self._account(tick, shares, filled, price, mid_after)

    def _is_bps(self, final_mid) -> float:
        cost = self.side * (self.notional - self.filled * self.feed.arrival_price)
        if final_mid is not None:
            unfilled = self.quantity - self.filled
            cost += self.side * unfilled * (final_mid - self.feed.arrival_price)
        return cost / (self.quantity * self.feed.arrival_price) * 1e4

    def _account(self, tick, shares, filled, price, mid_after) -> list[dict]:
        k = self.k
        self.filled += filled
        self.notional += filled * price
        self.market_volume += tick.volume_shares
        self.market_notional += tick.volume_shares * 0.5 * (tick.mid + mid_after)
        last = k == self.feed.n_steps - 1
        is_bps = self._is_bps(mid_after if last else None)
        record = tca_divergence(is_bps, self.band.samples_bps[:, k], self.feed.version)
        advice = self.advice
        participation = filled / tick.volume_shares if tick.volume_shares > 0 else 0.0
        overrides = int(override_reason(advice) is not None)
        notional = self.quantity * self.feed.arrival_price
        alert_events, flagged = self.alerts.interval(
            record,
            notional,
            overrides,
            advice["adverse_selection_risk"],
            participation,
            advice["max_participation_rate"],
        )
        self.k += 1
        vwap = self.market_notional / self.market_volume if self.market_volume > 0 else tick.mid
        tick_event = {
            "type": "tick",
            "step": k,
            "time_s": tick.time_s,
            "time_left_s": (self.feed.n_steps - self.k) * self.feed.interval_s,
            "mid": mid_after,
            "arrival_price": self.feed.arrival_price,
            "market_vwap": vwap,
            "realised_price": self.notional / self.filled if self.filled > 0 else None,
            "is_bps": is_bps,
            "band": self.band.at(k),
            "divergence_bps": record["divergence_bps"],
            "shortfall_notional": is_bps * 1e-4 * notional,
            "participation": participation,
            "ceiling": advice["max_participation_rate"],
            "remaining_shares": self.quantity - self.filled,
            "regime": advice["provenance"]["regime"],
            "tier": advice["urgency_tier"],
            "adverse_flag": bool(flagged),
            "alerts": dict(self.alerts.active),
            "done": self.done,
        }
        fill = {"type": "fill", "step": k, "requested": shares, "shares": filled, "price": price}
        return [fill, *alert_events, tick_event]

    def resume(self, events: list[dict]) -> None:
        """Rebuild from persisted events: every persisted child order is executed again on the
        feed (same keys, so the same market) and must give the persisted fill."""
        fills = [e for e in events if e["type"] == "fill"]
        for e in fills:
            if e["step"] != self.k:
                raise InputError(f"session {self.id}: persisted fills skip interval {self.k}")
            tick = self.feed.observe(self.k)
            advices = [a for a in events if a["type"] == "advice" and a["step"] == self.k]
            self.advice = advices[-1]["advice"]
            filled, _, mid_after = self.feed.execute(self.k, e["requested"])
            if abs(filled - e["shares"]) > 1e-3 * max(1.0, e["shares"]):
                raise InputError(f"session {self.id}: interval {self.k} replays to another fill")
            self._account(tick, e["requested"], e["shares"], e["price"], mid_after)
        advices = [a for a in events if a["type"] == "advice"]
        if advices:
            memory = advices[-1]["advice"]["provenance"]["advisor_memory"]
            self.memory = AdvisorMemory.from_dict(memory)
        self.strategy_failed = any(
            e["type"] == "override" and e["reason"] == "strategy_error" for e in events
        )
