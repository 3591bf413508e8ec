"""Smart order routing of a marketable buy across three Hawkes book venues
(`wmjax.market.VenueBooks`) by predicted fill quality, against routing everything to the best
quote and splitting by displayed size; the same sessions for every router. Writes
venue_routing.json.

    python experiments/venue_routing.py --paths 500
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax.numpy as jnp

from wmjax.market import VenueBooks, book_key, book_params, status_dict, venue_books_params
from wmjax.strategies import (
    ROUTERS,
    book_route,
    paired_difference,
    route_across_books,
    routing_cost_bps,
    venue_paths,
)


def venues():
    """Three venues: A thin (300 shares a level), fee 0.3 tick, co-located (25 us), repricing
    at once; B deep (1,000), fee 0.2, 2 ms away and 2 ms late; C (600), fee 0.2, 200 us away
    and 0.5 ms late."""
    books = [book_params(depth_shares=d) for d in (300.0, 1000.0, 600.0)]
    params = venue_books_params(
        3, reprice_delay_us=(0.0, 2000.0, 500.0), fee_ticks=(0.3, 0.2, 0.2), book=books
    )
    return params.replace(
        latency_us=jnp.asarray([25.0, 2000.0, 200.0], jnp.float32),
        jitter_us=jnp.asarray([5.0, 200.0, 30.0], jnp.float32),
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="wmjax-out/venue_routing", help="output folder")
    parser.add_argument("--paths", type=int, default=64, help="sessions")
    parser.add_argument("--steps", type=int, default=50, help="decisions of 40 ms per session")
    parser.add_argument("--shares", type=float, default=3000.0, help="the buy, shares")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    params = venues()
    route_step = max(args.steps - 10, 0)  # 0.4 s before the horizon: every order arrives
    costs, rows = {}, {}
    for router in ROUTERS:
        paths = venue_paths(
            book_key(args.seed),
            VenueBooks(),
            params,
            route_across_books,
            book_route(router, args.shares, route_step),
            0.04 * args.steps,
            args.steps,
            args.paths,
        )
        r = routing_cost_bps(paths, route_step)
        costs[router] = r["cost_bps"]
        rows[router] = {
            "cost_bps": float(r["cost_bps"].mean()),
            "cost_se_bps": float(r["cost_bps"].std(ddof=1) / len(r["cost_bps"]) ** 0.5),
            "completion": float(r["completion"].mean()),
            "status": status_dict(paths.final_state.status),
        }
    for router in ROUTERS:
        diff, se = paired_difference(costs["predicted_fill"], costs[router])
        rows[router].update(minus_predicted_fill_bps=diff, minus_predicted_fill_se=se)
        print(router, {k: v for k, v in rows[router].items() if k != "status"})
    result = {"config": vars(args), "routers": rows}
    (out / "venue_routing.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
