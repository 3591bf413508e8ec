"""Smart order routing of a marketable buy across three lit venues: the predicted-fill router
against all-to-the-best-quote and the split by displayed size, cost in bps against the arrival
mid with the SE of the paired difference, as the displayed books fade faster behind latency.
Writes lit_routing.json and lit_routing.png.

Venues (ticks above the mid, displayed lots per level, one-way latency, fee): A: best ask 1,
3-4 lots a level, co-located (25 us), fee 0.3; B: best ask 1, 10 lots a level, cloud (2 ms),
fee 0.2; C: best ask 2, 8-12 lots a level, proximity (200 us), fee 0.2. Order: 3,000 shares.

    python experiments/lit_routing.py --paths 4000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.market import lit_venue_params
from wmjax.strategies import (
    FillModel,
    best_quote_route,
    displayed_size_route,
    predicted_fill_route,
    routing_costs_bps,
)

DEPTH = [[3, 3, 4, 4], [10, 10, 10, 10], [8, 10, 12, 12]]
OFFSETS, LATENCY_US, FEES = [1, 1, 2], [25.0, 2000.0, 200.0], [0.3, 0.2, 0.2]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="wmjax-out/lit_routing", help="output folder")
    parser.add_argument("--paths", type=int, default=1000, help="paths per scenario")
    parser.add_argument("--shares", type=float, default=3000.0, help="order size, shares")
    parser.add_argument("--fades", default="0,100,300,1000", help="fade rates, 1/s")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {}
    for fade in (float(f) for f in args.fades.split(",")):
        params = lit_venue_params(OFFSETS, DEPTH, LATENCY_US, fade_per_s=fade, fee_ticks=FEES)
        routers = {
            "predicted fill": (predicted_fill_route, FillModel(jnp.float32(fade))),
            "best quote": (best_quote_route, None),
            "displayed size": (displayed_size_route, None),
        }
        costs = routing_costs_bps(jax.random.key(args.seed), params, routers, args.shares,
                                  args.paths)  # fmt: skip
        row = {}
        for name, c in costs.items():
            d = c - costs["predicted fill"]
            row[name] = {
                "cost_bps": float(c.mean()),
                "cost_se": float(c.std(ddof=1) / np.sqrt(c.size)),
                "minus_router_bps": float(d.mean()),
                "minus_router_se": float(d.std(ddof=1) / np.sqrt(d.size)),
            }
        result[f"{fade:g}"] = row
        shown = {k: [round(v[m], 3) for m in ("cost_bps", "minus_router_bps", "minus_router_se")]
                 for k, v in row.items()}  # fmt: skip
        print(f"fade {fade:g}/s", shown)
    (out / "lit_routing.json").write_text(json.dumps(result, indent=1))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    fades = [float(f) for f in result]
    for name in result[next(iter(result))]:
        cost = [result[f][name]["cost_bps"] for f in result]
        se2 = [2 * result[f][name]["cost_se"] for f in result]
        ax.errorbar(fades, cost, se2, label=name, marker="o")
    ax.set_xlabel("fade of displayed liquidity, 1/s")
    ax.set_ylabel("cost vs arrival mid, bps (± 2 SE)")
    ax.legend(fontsize=8)
    fig.savefig(out / "lit_routing.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return result


if __name__ == "__main__":
    main()
