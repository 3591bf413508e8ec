"""Cross-venue latency arbitrage: P&L per session for the four latency scenarios, alone and
against a co-located rival, and the win probability as a function of the latency difference.
Writes latency_arbitrage.json.

    python experiments/latency_arbitrage.py --paths 4000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax

from wmjax.market import LATENCY_PRESETS, stale_quote_params
from wmjax.strategies import latency_arbitrage


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="wmjax-out/latency_arbitrage", help="output folder")
    parser.add_argument("--paths", type=int, default=1000, help="sessions per scenario")
    parser.add_argument("--session-s", type=float, default=60.0, help="seconds per session")
    parser.add_argument("--capacity", type=int, default=1024, help="jumps per session, at most")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key = jax.random.key(args.seed)
    params = stale_quote_params()
    run = lambda p, s, rival=None: latency_arbitrage(  # noqa: E731
        key, p, s, args.session_s, args.paths, rival=rival, capacity=args.capacity
    )
    table = {}
    for name in LATENCY_PRESETS:
        table[name] = {"alone": run(params, name), "vs co-lo rival": run(params, name, "co-lo")}
        print(name, table[name])
    sweep = {}
    for stale_us in (1600.0, 1800.0, 2000.0, 2200.0, 2400.0):
        sweep[stale_us] = run(stale_quote_params(stale_us=stale_us), "cloud")
        print("cloud, stale", stale_us, sweep[stale_us])
    result = {"scenarios": table, "cloud_sweep": sweep}
    (out / "latency_arbitrage.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
