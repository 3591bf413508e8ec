"""Market making on the Hawkes book: path-steps/s of the exact simulator at 4,096 paths (the
Avellaneda-Stoikov maker translated to ticks), beside the one-sided `BookMarket` (a joining
limit order, `book_schedule_policy`-free: a fixed `BookAction`) in the same run, and the time
of one training step of the learned maker (compile separately).

    python benchmarks/mm_book.py --paths 4096 --decisions 20 --train-paths 32 --train-steps 5
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
from _common import compile_and_run_s


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=256)
    ap.add_argument("--decisions", type=int, default=10)
    ap.add_argument("--horizon-s", type=float, default=1.0)
    ap.add_argument("--train-paths", type=int, default=8)
    ap.add_argument("--train-steps", type=int, default=2)
    args = ap.parse_args(argv)

    import wmjax.market as mk
    import wmjax.strategies as st
    from wmjax.execution import RolloutConfig, order, rollout
    from wmjax.models import train_maker

    market = mk.MarketMakingBook()
    params = mk.book_params("co-lo")
    h, n, paths = args.horizon_s, args.decisions, args.paths
    model = {"A": 1.66, "k": 1.58, "sigma": 1.44}  # experiments/mm_book.py's calibration
    policy, agent = st.closed_form_makers(model, market, h, n, 0.05, (0.1,))["as"]["as g=0.1"]
    key = mk.book_key(0)
    compile_mm, run_mm = compile_and_run_s(
        lambda: st.maker_paths(key, market, params, policy, agent, h, n, paths).final_state.stats
    )
    one_sided = mk.BookMarket(events_per_step=market.events_per_step)
    action = mk.BookAction(
        market_shares=jnp.float32(0.0),
        limit_shares=jnp.float32(100.0),
        offset_logits=jax.nn.one_hot(1, one_sided.n_offsets),
        keep=jnp.float32(0.0),
    )
    parent = order(1e6, h / one_sided.trading_day_s, "buy")
    config = RolloutConfig(n_paths=paths, n_steps=n)
    compile_book, run_book = compile_and_run_s(
        lambda: rollout(key, one_sided, params, _Constant(), action, parent, config).shares
    )
    out = {
        "paths": paths,
        "decisions": n,
        "mm_path_steps_per_s": paths * n / run_mm,
        "mm_compile_s": compile_mm,
        "book_market_path_steps_per_s": paths * n / run_book,
        "book_market_compile_s": compile_book,
        "ratio_mm_over_book_market": run_book / run_mm,
        "load_average": os.getloadavg()[0],
    }
    if args.train_steps:  # 0 skips the training figures
        start = time.perf_counter()
        train_maker(key, market, params, h, n, phi=0.05, n_paths=args.train_paths, n_steps=1)
        out["train_first_step_s_incl_compile"] = time.perf_counter() - start
        start = time.perf_counter()
        steps = args.train_steps
        train_maker(key, market, params, h, n, phi=0.05, n_paths=args.train_paths, n_steps=steps)
        out["train_step_s"] = (time.perf_counter() - start) / steps
        out["train_paths"] = args.train_paths
    for k, v in out.items():
        print(f"{k:36s} {v:,.3f}" if isinstance(v, float) else f"{k:36s} {v}")
    return out


class _Constant:
    """Policy: the same action at every step (hashable)."""

    def __call__(self, action, obs):
        return action

    def __hash__(self):
        return 0

    def __eq__(self, other):
        return isinstance(other, _Constant)


if __name__ == "__main__":
    main()
