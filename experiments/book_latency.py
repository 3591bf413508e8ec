"""Latency matters at the right scale (issue 16, must-show 2): the same limit-order strategy on
the same keys, in the four latency scenarios and at three decision intervals (and, with
`--event-clocks`, on the event clock: the policy acts after every n-th flow event).

The strategy (`--strategy`), the same in every cell: "hold", one limit order for the whole parent
order at our best quote, sent at the first decision and kept (`book_schedule(..., aggression=0,
keep=True)`); "requote", the unfilled rest cancelled and re-posted at the touch at every decision
(`keep=False`); or "repeg", the order kept while it rests at (or inside) our best quote and the rest
re-posted at the touch when the touch has moved past it or nothing rests, unless a message of ours
is still in flight (latency matters on every re-post); or "flee", the re-peg that cancels its order
while the book signals a move against it (`--flee-signal`, `--flee-threshold`: our side's top
imbalance, its best-level depth, or the last interval's trade imbalance) and re-posts when the
signal clears, so a slow cancel leaves the order in the book as the level clears. Up to 8 messages
in flight, so that retail's 50 ms at 10 ms decisions fits. Whatever has not filled after
`--decisions` intervals is bought by the clean-up. Per cell: the passive fill rate (passive shares /
quantity) and the adverse selection of the passive fills (d x (mid at the fill - mid 100 ms later),
ticks, share-weighted per path, then averaged over paths with a fill; mark-outs still open at the
horizon read the final mid), each with its standard error over paths, and the run's status counters
(`status_dict`); and retail minus co-lo on the same keys in paired standard errors: the fill rate,
the adverse selection's means (`adverse_mean_gap`) and, beside it, the adverse selection on the
paths where both filled.

    python experiments/book_latency.py --paths 1000 --intervals-ms 1,10,1000 --out out/latency
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from wmjax.execution import (
    RolloutConfig,
    book_paths,
    book_schedule,
    book_schedule_policy,
    order,
    rollout,
)
from wmjax.hawkes import HawkesParams
from wmjax.market import BookMarket, Side, book_key, book_params, default_flow, status_dict
from wmjax.market.flow import FlowType

SCENARIOS = ("co-lo", "proximity", "cloud", "retail")
#: flow events per second of the default book (for the event clock's nominal interval)
FLOW_EVENTS_PER_S = 40.0
STRATEGIES = ("hold", "requote", "repeg", "flee")
FLEE_SIGNALS = ("imbalance", "depth", "trades")
#: the default book's (shares per seeded level, market orders' own excitation)
DEFAULT_MARKET = (
    500.0,
    float(default_flow().hawkes.alpha[FlowType.MARKET_SELL, FlowType.MARKET_SELL]),
)


def repeg_policy(params, obs):
    """`book_schedule_policy`, but the resting order is kept while it sits at or inside our
    best quote (its price from `BookObservation.resting_price_ticks`) or while a message of
    ours is in flight, and re-posted at the touch when the touch has moved past it."""
    action = book_schedule_policy(params, obs)
    m = obs.market
    best_ticks = jnp.round(m.mid / m.tick_size - obs.order.side * 0.5 * m.spread_ticks)
    # at or inside the visible touch (our virtual order is not in the book it sees: where the
    # level around it was cancelled away, it is the best quote itself)
    d = obs.order.side
    at_touch = (m.resting_shares > 0) & (d * (m.resting_price_ticks - best_ticks) >= 0)
    wait = at_touch | (m.in_flight_messages > 0)
    return action.replace(keep=wait.astype(jnp.float32))


def flee_policy(signal="trades", threshold=-0.5):
    """The re-peg policy that also flees: while the book signals a move against us, the
    resting order is cancelled (limit 0, nothing kept; one cancel, none while a message of ours is
    in flight) and nothing is posted; when the signal
    clears, the re-peg rule posts at the touch again. Signals, on our side d (+1 buy): "imbalance",
    d x top-of-book imbalance < threshold (our side thin against the other); "depth", the
    visible shares at our best level < threshold; "trades", d x the last interval's trade
    imbalance < threshold (market orders hitting our side). A cancel takes the scenario's
    latency to land, so a slow trader's order is still there when the level clears."""
    if signal not in FLEE_SIGNALS:
        raise ValueError(f"signal must be one of {FLEE_SIGNALS}, got {signal!r}")

    def policy(params, obs):
        action = repeg_policy(params, obs)
        m, d = obs.market, obs.order.side
        ours = jnp.where(d > 0, m.bid_depth_shares[0], m.ask_depth_shares[0])
        value = {"imbalance": d * m.imbalance, "depth": ours, "trades": d * m.trade_imbalance}
        adverse = value[signal] < threshold
        # cancel what rests; while a message of ours is in flight, or nothing rests, send nothing
        cancel = (m.resting_shares > 0) & (m.in_flight_messages == 0)
        return action.replace(
            limit_shares=jnp.where(adverse, 0.0, action.limit_shares),
            keep=jnp.where(adverse, (~cancel).astype(jnp.float32), action.keep),
        )

    return policy


def variant_params(
    latency, depth_shares=DEFAULT_MARKET[0], market_self_excitation=DEFAULT_MARKET[1]
):
    """`book_params(latency)` (the defaults: 500 shares per seeded level, market orders
    self-exciting 0.26), or a variant market: thinner levels (`depth_shares`, so that a market
    order clears the best level more often) and/or market orders that excite their own side more
    (`market_self_excitation`, the Hawkes alpha of market buy on market buy and sell on sell;
    0.7 makes a sell burst of about 3 sells). The probes of must-show 2's adverse-selection half."""
    flow = default_flow()
    alpha = np.array(flow.hawkes.alpha)
    for t in (FlowType.MARKET_BUY, FlowType.MARKET_SELL):
        alpha[t, t] = market_self_excitation
    flow = flow.replace(hawkes=HawkesParams.create(flow.hawkes.mu, alpha, flow.hawkes.beta))
    return book_params(latency, depth_shares=depth_shares, flow_params=flow)


def flow_slots(interval_s):
    """A flow buffer for a decision interval: ~40 events/s with bursts, at least 8 slots."""
    return max(8, int(np.ceil(interval_s * FLOW_EVENTS_PER_S * 3 + 16)))


def latency_paths(
    interval_s,
    latency,
    n_paths,
    n_decisions,
    quantity_shares=100.0,
    seed=0,
    strategy="hold",
    flee=("trades", -0.5),
    market=DEFAULT_MARKET,
    decision_events=0,
):
    """Per path: (passive fill rate, mark-out shares, adverse selection x shares in ticks) of
    the `strategy`'s limit orders, and the run's status dict (counters summed over paths);
    `market` = (depth_shares, market_self_excitation) of `variant_params`. With
    `decision_events` = n > 0 the policy acts after every n-th flow event (the event clock) and
    `interval_s` only sets the parent order's horizon (n / 40 s per decision is the default
    flow's rate)."""
    book = BookMarket(
        events_per_step=flow_slots(interval_s), max_in_flight=8, decision_events=decision_events
    )
    parent = order(quantity_shares, n_decisions * interval_s / book.trading_day_s, "buy")
    keep = strategy == "hold"
    sched = book_schedule(book, np.zeros(n_decisions), aggression=0.0, keep=keep)
    policy = {"repeg": repeg_policy, "flee": flee_policy(*flee)}.get(strategy, book_schedule_policy)
    config = RolloutConfig(n_paths=n_paths, n_steps=n_decisions)
    params = variant_params(latency, *market)
    out = book_paths(book_key(seed), book, params, policy, sched, parent, config)
    fill = np.asarray(out.stats.passive_shares, np.float64) / quantity_shares
    shares = np.asarray(out.stats.markout_shares, np.float64)
    adverse = np.asarray(out.stats.adverse_share_ticks, np.float64)
    return fill, shares, adverse, status_dict(out.status)


def level_clearing(interval_s, n_paths, n_decisions, seed=0, market=DEFAULT_MARKET) -> dict:
    """Why queue position barely moves the mark-out on this book: the best bid's depth at the
    horizon of the "hold" run (co-lo, its keys) against the flow's market sell sizes. Returns the
    median and 10% quantile of the depth (shares), the mean market sell (shares) and the
    probability that one market sell takes the whole best bid (the only way a back-of-queue
    order fills without cancels ahead of it, and the move that shifts the mid)."""
    book = BookMarket(events_per_step=flow_slots(interval_s))
    params = variant_params("co-lo", *market)
    parent = order(100.0, n_decisions * interval_s / book.trading_day_s, "buy")
    sched = book_schedule(book, np.zeros(n_decisions), aggression=0.0, keep=True)
    config = RolloutConfig(n_paths=n_paths, n_steps=n_decisions)
    paths = rollout(book_key(seed), book, params, book_schedule_policy, sched, parent, config)
    depth = np.asarray(paths.final_state.book.size_shares[:, Side.BID, 0], np.float64)
    sizes = np.asarray(params.flow.sizes.values[FlowType.MARKET_SELL], np.float64)
    w = np.asarray(params.flow.sizes.weights[FlowType.MARKET_SELL], np.float64)
    w = w / w.sum()
    clears = (sizes[None, :] >= depth[:, None]) @ w
    return {
        "best_bid_depth_median_shares": float(np.median(depth)),
        "best_bid_depth_p10_shares": float(np.quantile(depth, 0.1)),
        "mean_market_sell_shares": float(sizes @ w),
        "p_market_sell_clears_best_bid": float(clears.mean()),
    }


def markout_per_path(shares, adverse):
    """(paths with a fill, each path's share-weighted mark-out in ticks, 0 where none)."""
    seen = shares > 0
    return seen, np.where(seen, adverse / np.where(seen, shares, 1.0), 0.0)


def summarise(fill, shares, adverse, status) -> dict:
    """Means and standard errors over paths (adverse selection over the paths with a fill),
    and the status counters."""
    seen, markout = markout_per_path(shares, adverse)
    per_path = markout[seen]
    n = max(int(seen.sum()), 2)
    return {
        "fill_rate": float(fill.mean()),
        "fill_rate_se": float(fill.std(ddof=1) / np.sqrt(fill.size)),
        "adverse_ticks": float(per_path.mean()) if seen.any() else float("nan"),
        "adverse_ticks_se": float(per_path.std(ddof=1) / np.sqrt(n)) if seen.any() else 0.0,
        "paths_with_fills": int(seen.sum()),
        "status": status,
    }


def adverse_mean_gap(first, last):
    """Last minus first scenario's adverse selection (each the mean over its own paths with a
    fill, ticks) and its standard error over the same keys, by the delta method for a ratio of
    means: path i enters through (a_i - A) 1_i / p, its mark-out a_i less the scenario's mean A,
    times its fill indicator over the share of paths with a fill p. Unlike the gap on the paths
    where both filled, this keeps the paths that only one scenario filled (a slow cancel's fill).
    (nan, nan) when either scenario has no fill."""

    def influence(run):
        seen, markout = markout_per_path(run[1], run[2])
        mean = markout[seen].mean()
        return mean, np.where(seen, markout - mean, 0.0) / seen.mean()

    if not ((first[1] > 0).any() and (last[1] > 0).any()):
        return float("nan"), float("nan")
    (a, psi_a), (b, psi_b) = influence(first), influence(last)
    d = psi_b - psi_a
    return float(b - a), float(d.std(ddof=1) / np.sqrt(d.size))


def paired_gap(first, last) -> dict:
    """Last minus first scenario on the same keys, in paired standard errors: fill rate;
    adverse selection as the gap of the two means (`adverse_mean_gap`), and on the paths where
    both filled."""
    d_fill = last[0] - first[0]
    seen_first, markout_first = markout_per_path(first[1], first[2])
    seen_last, markout_last = markout_per_path(last[1], last[2])
    both = seen_first & seen_last
    d_adv = markout_last[both] - markout_first[both]

    def in_se(x):
        return float(x.mean() / max(x.std(ddof=1) / np.sqrt(x.size), 1e-12)) if x.size > 1 else 0.0

    gap, se = adverse_mean_gap(first, last)
    return {
        "fill_rate_gap_se": in_se(d_fill),
        "adverse_gap_se": gap / max(se, 1e-12),
        "adverse_gap_both_filled_se": in_se(d_adv),
    }


def latency_table(
    intervals_s,
    n_paths,
    n_decisions,
    seed=0,
    strategy="hold",
    flee=("trades", -0.5),
    market=DEFAULT_MARKET,
    event_clocks=(),
) -> dict:
    """One row per clock: the decision intervals `intervals_s`, then the event clocks
    `event_clocks` (n: the policy acts after every n-th flow event)."""
    clocks = [(dt, 0, f"{dt * 1e3:g} ms") for dt in intervals_s]
    clocks += [(n / FLOW_EVENTS_PER_S, n, f"every {n} flow events") for n in event_clocks]
    table = {}
    for dt, n, label in clocks:
        runs = {
            s: latency_paths(
                dt,
                s,
                n_paths,
                n_decisions,
                seed=seed,
                strategy=strategy,
                flee=flee,
                market=market,
                decision_events=n,
            )
            for s in SCENARIOS
        }
        row = {s: summarise(*r) for s, r in runs.items()}
        row["retail_vs_co-lo"] = paired_gap(runs["co-lo"], runs["retail"])
        # each scenario against the next faster one (does latency ever help, beyond noise?)
        row["adjacent"] = {
            f"{b} - {a}": paired_gap(runs[a], runs[b]) for a, b in itertools.pairwise(SCENARIOS)
        }
        row["level_clearing"] = level_clearing(dt, min(n_paths, 256), n_decisions, seed, market)
        table[label] = row
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=256)
    ap.add_argument("--decisions", type=int, default=100, help="decision intervals per path")
    ap.add_argument("--intervals-ms", default="1,10,1000")
    ap.add_argument(
        "--event-clocks", default="", help="also act after every n-th flow event, e.g. 1,4"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--strategy", choices=STRATEGIES, default="hold")
    ap.add_argument("--flee-signal", choices=FLEE_SIGNALS, default="trades")
    ap.add_argument("--flee-threshold", type=float, default=-0.5, help="flee below this value")
    ap.add_argument(
        "--depth-shares", type=float, default=DEFAULT_MARKET[0], help="shares per seeded level"
    )
    ap.add_argument(
        "--market-self-excitation",
        type=float,
        default=DEFAULT_MARKET[1],
        help="market orders' own alpha",
    )
    ap.add_argument("--out", default="out/book_latency")
    args = ap.parse_args(argv)
    try:
        intervals = [float(x) * 1e-3 for x in args.intervals_ms.split(",") if x]
        event_clocks = [int(x) for x in args.event_clocks.split(",") if x]
    except ValueError as err:
        ap.error(f"--intervals-ms / --event-clocks take comma-separated numbers ({err})")
    if any(dt <= 0 for dt in intervals) or any(n < 1 for n in event_clocks):
        ap.error("--intervals-ms must be > 0 and --event-clocks whole numbers >= 1, e.g. 1,4")
    if not intervals and not event_clocks:
        ap.error("nothing to run: give --intervals-ms and/or --event-clocks")
    flee = (args.flee_signal, args.flee_threshold)
    market = (args.depth_shares, args.market_self_excitation)
    table = latency_table(
        intervals, args.paths, args.decisions, args.seed, args.strategy, flee, market, event_clocks
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "book_latency.json").write_text(json.dumps(table, indent=1))
    print(f"| interval | scenario | fill rate | adverse selection, ticks | status | "
          f"({args.strategy}, {args.paths} paths)")  # fmt: skip
    print("|---|---|---|---|---|")
    for dt, row in table.items():
        gap = row["retail_vs_co-lo"]
        print(
            f"| {dt} | retail - co-lo, paired SE | {gap['fill_rate_gap_se']:+.1f} SE | "
            f"{gap['adverse_gap_se']:+.1f} SE ({gap['adverse_gap_both_filled_se']:+.1f} SE "
            "where both filled) | |"
        )
        for pair, g in row["adjacent"].items():
            print(
                f"| {dt} | {pair}, paired SE | {g['fill_rate_gap_se']:+.1f} SE | "
                f"{g['adverse_gap_se']:+.1f} SE | |"
            )
        print(f"| {dt} | level clearing (co-lo, hold) | {row['level_clearing']} | | |")
        for s in SCENARIOS:
            c = row[s]
            print(
                f"| {dt} | {s} | {c['fill_rate']:.3f} ± {c['fill_rate_se']:.3f} | "
                f"{c['adverse_ticks']:.3f} ± {c['adverse_ticks_se']:.3f} | "
                f"{c['status']['result']} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
