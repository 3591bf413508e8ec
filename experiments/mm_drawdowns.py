"""Drawdown tables of market makers under adverse-flow scenarios, with and without the position
limit and kill switch (`wmjax.market.risk_limits`), on the model market. Writes
mm_drawdowns.json.

Scenarios (T = 1 in 500 steps; the agents keep their calm-market sigma = 2): calm (Avellaneda &
Stoikov's market); one-sided bursts (information events during which informed market orders
triple one side and the mid drifts 40 per unit time their way); a volatility shock (sigma 6,
the spread the agents quote is set for 2); a liquidity drought (market orders 30 per side
instead of 140, sigma 4). Controls: position limit 5, loss limit 10, flattening cost 0.2.

    python experiments/mm_drawdowns.py --paths 4000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import numpy as np

from wmjax.analytics import drawdown_summary
from wmjax.market import quote_config, quote_market_params, risk_limits
from wmjax.strategies import (
    as_inventory_quotes,
    as_symmetric_quotes,
    avellaneda_stoikov,
    simulate_quotes,
    toxicity_aware,
    toxicity_aware_strategy,
)

SCENARIOS = {
    "calm": {},
    "one-sided bursts": dict(
        informed_rate=280.0, info_start_rate=1.0, info_end_rate=2.0, info_drift=40.0
    ),
    "volatility shock": dict(sigma=6.0),
    "liquidity drought": dict(mo_rate=30.0, sigma=4.0),
}
LIMITS = dict(position_limit=5.0, loss_limit=10.0, flatten_cost=0.2)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="wmjax-out/mm_drawdowns", help="output folder")
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=500, help="steps in the unit horizon")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = quote_config(args.steps, 1.0 / args.steps, vpin_bucket=20.0, vpin_window=5)
    agent = avellaneda_stoikov(0.1, 2.0, 1.5)
    agents = {
        "as": (as_inventory_quotes, agent),
        "as-symmetric": (as_symmetric_quotes, agent),
        "as-toxic": (
            toxicity_aware_strategy(as_inventory_quotes),
            toxicity_aware(agent, 2.0, 0.5, 0.2),
        ),
    }
    controls = {"none": risk_limits(), "limits": risk_limits(**LIMITS)}
    key = jax.random.key(args.seed)
    table, killed_paths, violations = {}, 0, 0
    for scenario, overrides in SCENARIOS.items():
        params = quote_market_params(**overrides)
        for name, (strategy, agent_params) in agents.items():
            for control, limits in controls.items():
                paths = simulate_quotes(
                    key, params, strategy, agent_params, config, args.paths, limits
                )
                table[f"{scenario} | {name} | {control}"] = drawdown_summary(paths)
                if control == "limits":
                    # Must-show: a killed path loses at most the limit + its worst one-interval
                    # fall + the flattening cost.
                    mtm, inv = np.asarray(paths.mark_to_market), np.asarray(paths.inventory)
                    drop = np.max(mtm[:, :-1] - mtm[:, 1:], axis=1)
                    bound = (
                        LIMITS["loss_limit"] + drop + LIMITS["flatten_cost"] * np.abs(inv).max(1)
                    )
                    killed = np.asarray(paths.killed)
                    killed_paths += int(killed.sum())
                    violations += int((-np.asarray(paths.pnl) > bound + 1e-4)[killed].sum())
    for row, figures in table.items():
        print(row, {k: round(v, 3) for k, v in figures.items()})
    print(f"kill switch: {killed_paths} killed paths, {violations} beyond the one-interval bound")
    result = {"table": table, "killed_paths": killed_paths, "bound_violations": violations}
    (out / "mm_drawdowns.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
