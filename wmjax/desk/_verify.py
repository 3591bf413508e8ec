"""The advisor's verification plan (seed 004) as one function: the offline replay on historical
snapshots (baseline vs advisor-bounded, paired on common random numbers), the paper split-book
comparison (parent orders alternately assigned), and the promotion criteria.

Statistics: paired differences advisor - baseline per snapshot (or per order), mean and its
standard error std / sqrt(n) (snapshots are treated as independent: the decision intervals do
not overlap, though volatility clusters, so the SE is a lower bound); tail deltas (p95 of the
slice cost) with a paired bootstrap SE over snapshots; the split-book estimate is the difference
of the two arms' means over their own orders with Welch's SE.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax
import numpy as np

from wmjax._checks import positive, positive_int
from wmjax.analytics import REGIMES, AdvisorConfig, content_hash, limits_version
from wmjax.desk._replay import ARMS, PROVENANCE_FIELDS, advice_stream, crn_uniforms, run_arm
from wmjax.desk._risk import RiskLimits


@dataclass(frozen=True)
class VerifyConfig:
    """Settings of the verification: snapshots per split-book parent order, the slice cost
    (bps) above which a decision counts as a risk incident, the fewest snapshots a regime needs
    to be judged, bootstrap resamples for the tail SE, the seed of the common uniforms and of
    the advisor's key, and the z of the significance tests."""

    order_snapshots: int = 30
    incident_bps: float = 20.0
    min_regime_snapshots: int = 10
    bootstrap: int = 200
    seed: int = 0
    z: float = 2.0

    def __post_init__(self):
        positive_int("order_snapshots", self.order_snapshots)
        positive("incident_bps", self.incident_bps)
        positive_int("min_regime_snapshots", self.min_regime_snapshots)
        positive_int("bootstrap", self.bootstrap, minimum=2)
        positive("z", self.z)


def _mean_se(x) -> tuple[float, float]:
    x = np.asarray(x, float)
    se = float(np.std(x, ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
    return float(np.mean(x)) if x.size else float("nan"), se


def _tail(cost) -> dict:
    p95 = float(np.quantile(cost, 0.95))
    return {"p95_bps": p95, "cvar95_bps": float(np.mean(cost[cost >= p95]))}


def _arm_stats(arm, incident_bps: float) -> dict:
    mean, se = _mean_se(arm.cost_bps)
    limit = arm.is_limit
    return {
        "slippage_mean_bps": mean,
        "slippage_se_bps": se,
        "slippage_std_bps": float(np.std(arm.cost_bps, ddof=1)),
        **_tail(arm.cost_bps),
        "shortfall_usd": float(np.sum(arm.shortfall_usd)),
        "completion": arm.session["filled_shares"] / arm.session["order_shares"],
        "passive_fill_rate": float(np.mean(arm.passive_fill[limit])) if limit.any() else None,
        "limit_share": float(np.mean(limit)),
        "mean_participation": float(np.mean(arm.rate)),
        "tail_incidents": int(np.sum(arm.cost_bps > incident_bps)),
        "limit_breaches": int(np.sum(arm.breach)),
        "risk_budget_used_bps": arm.session["is_risk_used_bps"],
    }


def _override_log(arm) -> str:
    steps = [
        [
            a["provenance"]["fallback_reason"],
            a["provenance"]["override_reasons"],
            a["provenance"]["risk_controls"],
            a["max_participation_rate"],
            a["preferred_order_type"],
            a["quote_offset_bps"],
        ]
        for a in arm.advice
    ]
    return content_hash(steps)


def provenance_complete(advice: dict, policy: dict) -> bool:
    """Does an applied advice carry every provenance field, consistently (the hash is the
    hash of the recorded state, the limits version is the policy's)?"""
    p = advice["provenance"]
    if any(f not in p for f in PROVENANCE_FIELDS):
        return False
    has_state = p["inputs"] is not None
    return (
        p["limits_version"] == limits_version(policy)
        and (p["inputs_hash"] == content_hash(p["inputs"]) if has_state else True)
        and (p["state_age_ms"] is not None) == has_state
        and (p["fallback_reason"] is not None) == p["fallback"]
    )


def _split_book(snapshots, adv, base, policy, limits, advisor, u, cfg: VerifyConfig) -> dict:
    n = len(snapshots) // cfg.order_snapshots
    blocks = [np.arange(j * cfg.order_snapshots, (j + 1) * cfg.order_snapshots) for j in range(n)]
    is_bps = {name: [] for name in ARMS}
    for idx in blocks:
        for name, stream in (("baseline", base), ("advisor", adv)):
            arm = run_arm(snapshots, stream, idx, policy, limits, advisor, u)
            is_bps[name].append(arm.session["is_risk_used_bps"])
    b, a = (np.asarray(is_bps[k]) for k in ARMS)
    a_own, b_own = a[0::2], b[1::2]  # order j goes to the advisor when j is even
    se = (
        float(np.sqrt(np.var(a_own, ddof=1) / a_own.size + np.var(b_own, ddof=1) / b_own.size))
        if min(a_own.size, b_own.size) > 1
        else float("nan")
    )
    paired, paired_se = _mean_se(a - b)
    return {
        "orders": n,
        "order_snapshots": cfg.order_snapshots,
        "advisor_orders": int(a_own.size),
        "baseline_orders": int(b_own.size),
        "advisor_is_mean_bps": float(np.mean(a_own)) if a_own.size else None,
        "baseline_is_mean_bps": float(np.mean(b_own)) if b_own.size else None,
        "split_delta_bps": float(np.mean(a_own) - np.mean(b_own)) if b_own.size else None,
        "split_delta_se_bps": se,
        "paired_delta_bps": paired,
        "paired_delta_se_bps": paired_se,
    }


def verify_advisor(
    snapshots,
    policy: dict,
    risk_limits: RiskLimits = RiskLimits(),  # noqa: B008 (frozen)
    advisor: AdvisorConfig = AdvisorConfig(n_paths=64),  # noqa: B008 (frozen)
    config: VerifyConfig = VerifyConfig(),
    *,
    enabled: bool = True,
) -> dict:
    """Run the verification plan on `snapshots` (`lobster_snapshots`) under the policy file
    `policy` and the desk's `risk_limits`; `enabled` is the kill switch of the advisor arm.
    Returns a JSON-ready dict: `replay` (per-arm statistics, paired deltas, by regime),
    `split_book`, `provenance`, `determinism`, `criteria` (rows of name, measured, threshold,
    passed) and `promote` (all criteria passed)."""
    cfg = config
    key = jax.random.key(cfg.seed)
    u = crn_uniforms(len(snapshots), cfg.seed)
    adv, base = advice_stream(snapshots, policy, advisor, key, enabled)
    idx = np.arange(len(snapshots))
    arms = {
        "baseline": run_arm(snapshots, base, idx, policy, risk_limits, advisor, u),
        "advisor": run_arm(snapshots, adv, idx, policy, risk_limits, advisor, u),
    }
    stats = {k: _arm_stats(v, cfg.incident_bps) for k, v in arms.items()}
    diff = arms["advisor"].cost_bps - arms["baseline"].cost_bps
    d_mean, d_se = _mean_se(diff)
    usd = arms["advisor"].shortfall_usd - arms["baseline"].shortfall_usd
    rng = np.random.default_rng(cfg.seed)
    boots = [
        np.quantile(arms["advisor"].cost_bps[s], 0.95)
        - np.quantile(arms["baseline"].cost_bps[s], 0.95)
        for s in rng.integers(0, diff.size, (cfg.bootstrap, diff.size))
    ]
    regimes = snapshots.regimes()
    by_regime = []
    for r in REGIMES:
        m, s = _mean_se(diff[regimes == r])
        by_regime.append(
            {"regime": r, "snapshots": int(np.sum(regimes == r)), "delta_bps": m, "delta_se_bps": s}
        )
    deltas = {
        "slippage_delta_bps": d_mean,
        "slippage_delta_se_bps": d_se,
        "shortfall_delta_usd": float(np.sum(usd)),
        "shortfall_delta_se_usd": float(np.std(usd, ddof=1) * np.sqrt(usd.size)),
        "p95_delta_bps": stats["advisor"]["p95_bps"] - stats["baseline"]["p95_bps"],
        "p95_delta_se_bps": float(np.std(boots, ddof=1)),
    }
    split = _split_book(snapshots, adv, base, policy, risk_limits, advisor, u, cfg)

    adv2, _ = advice_stream(snapshots, policy, advisor, key, enabled)
    rerun = run_arm(snapshots, adv2, idx, policy, risk_limits, advisor, u)
    logs = [_override_log(arms["advisor"]), _override_log(rerun)]
    applied = arms["advisor"].advice + arms["baseline"].advice
    complete = [provenance_complete(a, policy) for a in applied]
    prov = {
        "advice": len(applied),
        "complete": int(np.sum(complete)),
        "share": float(np.mean(complete)),
    }
    judged = [g for g in by_regime if g["snapshots"] >= cfg.min_regime_snapshots]
    inc = {k: stats[k]["tail_incidents"] for k in arms}
    breaches = sum(stats[k]["limit_breaches"] for k in arms)
    z = cfg.z
    split_ok = split["split_delta_bps"] is not None and not (
        split["split_delta_bps"] - z * split["split_delta_se_bps"] > 0
    )
    criteria = [
        (
            "improvement overall (paired replay)",
            f"{d_mean:+.3f} ± {d_se:.3f} bps",
            f"delta + {z:g} SE < 0",
            d_mean + z * d_se < 0,
        ),
        (
            "stable across regimes",
            ", ".join(
                f"{g['regime']} {g['delta_bps']:+.2f}±{g['delta_se_bps']:.2f}" for g in judged
            )
            or "no regime judged",
            f"delta < 0 in every regime with >= {cfg.min_regime_snapshots}",
            bool(judged) and all(g["delta_bps"] < 0 for g in judged),
        ),
        (
            "paper split-book not worse",
            f"{split['split_delta_bps']:+.3f} ± {split['split_delta_se_bps']:.3f} bps"
            if split["split_delta_bps"] is not None
            else "too few orders",
            f"delta - {z:g} SE <= 0",
            split_ok,
        ),
        (
            "no increase in risk incidents",
            f"advisor {inc['advisor']}, baseline {inc['baseline']}, breaches {breaches}",
            f"advisor <= baseline (cost > {cfg.incident_bps:g} bps), 0 breaches",
            inc["advisor"] <= inc["baseline"] and breaches == 0,
        ),
        (
            "deterministic overrides",
            "identical" if logs[0] == logs[1] else "differ",
            "same inputs -> identical overrides",
            logs[0] == logs[1],
        ),
        (
            "provenance complete",
            f"{prov['complete']}/{prov['advice']}",
            "100%",
            prov["complete"] == prov["advice"],
        ),
    ]
    rows = [
        dict(zip(("criterion", "measured", "threshold", "passed"), c, strict=True))
        for c in criteria
    ]
    for r in rows:
        r["passed"] = bool(r["passed"])
    return {
        "snapshots": len(snapshots),
        "step_s": snapshots.config.step_s,
        "advisor_enabled": bool(enabled),
        "policy_version": limits_version(policy),
        "risk_limits": asdict(risk_limits),
        "replay": {"arms": stats, "deltas": deltas, "by_regime": by_regime},
        "split_book": split,
        "provenance": prov,
        "determinism": {"override_log_hashes": logs, "identical": logs[0] == logs[1]},
        "criteria": rows,
        "promote": all(r["passed"] for r in rows),
    }
