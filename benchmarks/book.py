"""Order-book throughput: LOBSTER replay and Hawkes-driven simulation, 1 / 64 / 1,024 books,
with the JAX-LOB simulator (PyPI `jaxlob`) side by side when it can be imported.

Messages per second = messages applied to books / wall seconds (best of `--repeats` runs after
one compile run). The peer is optional: install it next to wmjax without its pinned
dependencies (`pip install --no-deps jaxlob`, or `--peer-path DIR` for a `pip install
--target DIR`); if it is missing or fails on this JAX, that is reported and the rest runs.

    python benchmarks/book.py                      # all cases, prints a table
    python benchmarks/book.py --json               # one JSON object
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.data import load_lobster
from wmjax.hawkes import EmpiricalSizes, HawkesParams, stationary_intensity
from wmjax.market import (
    book_from_levels,
    book_rows,
    flow,
    messages_from_lobster,
    replay_final,
    replay_one_step,
)
from wmjax.market._flow_sim import _simulate

LOBSTER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lobster"
AMZN = (
    LOBSTER / "AMZN_2012-06-21_34200000_57600000_message_1.csv",
    LOBSTER / "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv",
)


def best_time(fn, repeats: int) -> float:
    """Seconds of the fastest of `repeats` calls after one warm-up (compile) call."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def replay_cases(data, levels: int, batches, repeats: int, messages_per_book: int):
    price, size = book_rows(data)
    seed = book_from_levels(price[0, 1], size[0, 1], price[0, 0], size[0, 0], levels)
    msgs = jax.tree.map(lambda x: x[1:], messages_from_lobster(data))
    out = []
    n = msgs.event_type.shape[0]
    t = best_time(lambda: replay_final(seed, msgs), repeats)
    out.append(("wmjax replay, free-running scan", 1, n, n / t))
    batched = jax.jit(jax.vmap(replay_final))
    for b in batches:
        part = jax.tree.map(
            lambda x, b=b: jnp.broadcast_to(x[:messages_per_book], (b, messages_per_book)), msgs
        )
        seeds = jax.tree.map(lambda x, b=b: jnp.broadcast_to(x, (b, *x.shape)), seed)
        t = best_time(lambda s=seeds, p=part: batched(s, p), repeats)
        out.append(
            ("wmjax replay, free-running scan", b, b * messages_per_book, b * messages_per_book / t)
        )
    t = best_time(lambda: replay_one_step(data).matches, repeats)
    out.append(
        (
            "wmjax one-step check (vmap over rows, incl. host compare)",
            1,
            data.rows - 1,
            (data.rows - 1) / t,
        )
    )
    return out


def env_cases(
    n_paths: int, n_decisions: int, interval_s: float, repeats: int, event_clock: int = 16
):
    """`BookMarket` with a policy in the loop (TWAP limit orders re-posted every decision) on
    `n_paths` paths of `n_decisions` decisions of `interval_s`, side by side on the same keys:
    the interval's stream run as a scan over every slot and with `early_exit` (checked to give
    the scan's paths bit for bit); as a profile, the flow sampler alone on the same intervals;
    and the event clock (`decision_events=event_clock`, `early_exit`: the policy acts after
    every n-th flow event, so every flow slot is filled), the engine's rate per flow event when
    slots are not padding. Flow events/s and decisions/s, compile time (first call minus the
    best) reported apart."""
    from wmjax.execution import RolloutConfig, book_baselines, book_paths, book_schedule_policy
    from wmjax.execution import order as parent_order
    from wmjax.market import BookMarket, book_key, book_params

    capacity = max(8, int(interval_s * 120) + 8)
    scan = BookMarket(events_per_step=capacity)
    early = BookMarket(events_per_step=capacity, early_exit=True)
    config = RolloutConfig(n_paths=n_paths, n_steps=n_decisions)
    markets = {"scan": (scan, config), "early_exit": (early, config)}
    if event_clock:
        markets[f"event clock, {event_clock} events per decision, early_exit"] = (
            BookMarket(decision_events=event_clock, early_exit=True),
            config,
        )
    horizon_s = n_decisions * interval_s
    parent = parent_order(1000.0, horizon_s / scan.trading_day_s, "buy")
    sched = book_baselines(
        scan, n_decisions, horizon_s=horizon_s, risk_aversion=0.1,
        sigma_bps_per_sqrt_s=1.0, eta_bps_s=1.0,
    )["twap_limit"]  # fmt: skip
    params = book_params("co-lo")

    def run(market, cfg, seed):
        return book_paths(
            book_key(seed), market, params, book_schedule_policy, sched, parent, cfg, throw=False
        )

    def flow_alone(key):
        def body(state, k):
            events, state, _ = flow.sample_interval(k, params.flow, state, interval_s, capacity)
            return state, events.count

        keys = jax.random.split(key, n_decisions)
        return jax.lax.scan(body, flow.flow_state(params.flow), keys)[1]

    flow_jit = jax.jit(jax.vmap(flow_alone))
    variants = {name: (lambda s, m=m, c=c: run(m, c, s)) for name, (m, c) in markets.items()}
    variants["flow sampler alone"] = lambda s: flow_jit(jax.random.split(book_key(s), n_paths))
    first, best, outs = {}, {}, {}
    for name, fn in variants.items():
        start = time.perf_counter()
        outs[name] = jax.block_until_ready(fn(0))
        first[name] = time.perf_counter() - start
        best[name] = np.inf
    for i in range(repeats):  # interleaved, so that the load is shared alike
        for name, fn in variants.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(1 + i))
            best[name] = min(best[name], time.perf_counter() - start)

    def flow_events(name):  # the flow sampler alone draws the scan's intervals
        out = outs[name if name in markets else "scan"]
        return int(np.sum(np.asarray(out.stats.flow_events)))

    def label(name):
        if name.startswith("event clock"):
            return f"wmjax BookMarket + policy, {name}"
        if name in markets:
            return f"wmjax BookMarket + policy, {interval_s * 1e3:g} ms decisions, {name}"
        return f"wmjax {name}, {interval_s * 1e3:g} ms intervals"

    def same(name):
        pairs = zip(jax.tree.leaves(outs["scan"]), jax.tree.leaves(outs[name]), strict=True)
        return all(np.array_equal(a, b) for a, b in pairs)

    return {
        name: {
            "case": label(name),
            "books": n_paths,
            "messages": flow_events(name),
            "messages_per_s": flow_events(name) / best[name],
            "decisions_per_s": n_paths * n_decisions / best[name],
            "seconds": best[name],
            "share_of_scan": best[name] / best["scan"],
            "compile_s": first[name] - best[name],
            "same_paths_as_scan": same(name) if name == "early_exit" else None,
        }
        for name in variants
    }


def _flow_params():
    mu = np.array([0.6, 0.7, 0.4, 0.4, 0.15, 0.15])
    alpha = np.full((6, 6), 0.03) + np.diag([0.25] * 6)
    sizes = EmpiricalSizes(
        values=jnp.asarray(np.tile([[20.0, 100.0, 300.0]], (6, 1))), weights=jnp.ones((6, 3))
    )
    offsets = np.concatenate([flow.power_law_depths(0.7, 10), np.full((2, 5), 0.3)], axis=1)
    return flow.FlowParams.create(
        HawkesParams.create(mu, alpha, 50.0), offsets, sizes, -9, 0.5, (0.25, 0.5, 1.0)
    )


def flow_cases(batches, repeats: int, events_per_book: int, levels: int):
    params = _flow_params()
    rate = float(np.sum(np.asarray(stationary_intensity(params.hawkes))))
    horizon = events_per_book / rate
    capacity = int(events_per_book * 2)
    book = book_from_levels(
        np.arange(10001, 10011),
        np.full(10, 200),
        np.arange(10000, 9990, -1),
        np.full(10, 200),
        levels,
    )

    def one(key):
        final, path, _ = _simulate(key, params, book, horizon, capacity)
        # return what depends on every event, so the compiler cannot drop the book updates
        return path.valid, final.size_shares, path.best_bid_ticks, path.best_ask_ticks

    run = jax.jit(jax.vmap(one))
    out = []
    for b in batches:
        keys = jax.random.split(jax.random.key(0), b)
        t = best_time(lambda k=keys: run(k), repeats)
        n = int(np.asarray(run(keys)[0]).sum())
        out.append(("wmjax Hawkes flow + book (simulate)", b, n, n / t))
    return out


class _JnpShim:
    """`jax.numpy` as the peer (written for JAX 0.4.11) expects it: `where(c, x=, y=)`."""

    def __getattr__(self, name):
        return getattr(jnp, name)

    @staticmethod
    def where(condition, *args, x=None, y=None, **kwargs):
        if x is not None or y is not None:
            return jnp.where(condition, x, y, **kwargs)
        return jnp.where(condition, *args, **kwargs)


def peer_cases(data, batches, repeats: int, peer_path: str | None, messages_per_book: int):
    """JAX-LOB (PyPI jaxlob) on the same AMZN messages; [] and a reason if it cannot run."""
    if peer_path:
        sys.path.insert(0, peer_path)
    try:
        from jaxlob.gymnax_exchange.jaxob import JaxOrderBookArrays as job
    except Exception as err:  # the peer is optional: report and go on
        return [], f"jaxlob not importable ({type(err).__name__}: {err})"
    job.jnp = _JnpShim()  # compatibility with current JAX; the peer's code is untouched
    kinds = np.asarray(data.event_type)
    keep = kinds <= 4
    n_orders, n_trades = 100, 100
    msg = np.stack(
        [
            kinds[keep],
            np.asarray(data.direction)[keep],
            np.asarray(data.size_shares)[keep],
            np.asarray(data.price_raw)[keep],
            np.zeros(keep.sum()),  # trader id
            np.asarray(data.order_id)[keep] % 2_000_000_000,
            np.floor(np.asarray(data.times_s)[keep]),
            np.round((np.asarray(data.times_s)[keep] % 1) * 1e9),
        ],
        axis=1,
    ).astype(np.int32)
    msgs = jnp.asarray(msg)

    def empty():
        side = (jnp.ones((n_orders, 6)) * -1).astype(jnp.int32)
        return side, side, (jnp.ones((n_trades, 6)) * -1).astype(jnp.int32)

    out = []
    try:
        single = jax.jit(job.scan_through_entire_array)
        t = best_time(lambda: single(msgs, empty()), repeats)
        out.append(("jaxlob scan_through_entire_array", 1, msgs.shape[0], msgs.shape[0] / t))
        batched = jax.jit(jax.vmap(job.scan_through_entire_array, (0, 0)))
        for b in batches:
            m = jnp.broadcast_to(msgs[:messages_per_book], (b, messages_per_book, 8))
            books = jax.tree.map(lambda x, b=b: jnp.broadcast_to(x, (b, *x.shape)), empty())
            t = best_time(lambda m=m, s=books: batched(m, s), repeats)
            out.append(
                (
                    "jaxlob scan_through_entire_array",
                    b,
                    b * messages_per_book,
                    b * messages_per_book / t,
                )
            )
    except Exception as err:
        return out, f"jaxlob failed on this JAX ({type(err).__name__}: {str(err)[:200]})"
    return out, None


def hftbacktest_cases(data, repeats: int):
    """hftbacktest (PyPI `hftbacktest`, its Rust backtester driven from a numba loop) replaying
    the same AMZN day as L2 depth events (the size resting at the message's price after it,
    from the order-book file) plus one trade event per execution; the strategy only reads the
    best bid every simulated second. [] and a reason if it cannot run."""
    try:
        import hftbacktest as hbt
        from numba import njit
    except Exception as err:  # the peer is optional: report and go on
        return [], f"hftbacktest not importable ({type(err).__name__}: {err})"
    price, size = book_rows(data)
    kind = np.asarray(data.event_type)
    px = np.asarray(data.price_ticks)
    buy = np.asarray(data.direction) > 0
    ts = np.round(np.asarray(data.times_s) * 1e9).astype(np.int64)
    rows, side = np.arange(kind.size), np.where(buy, 0, 1)
    qty = np.sum(np.where(price[rows, side] == px[:, None], size[rows, side], 0), axis=1)
    depth = np.flatnonzero((kind >= 1) & (kind <= 4) & (rows > 0))
    trade = depth[kind[depth] == 4]
    events = np.zeros(depth.size + trade.size, hbt.event_dtype)
    both = hbt.EXCH_EVENT | hbt.LOCAL_EVENT
    events["ev"] = np.concatenate(
        [
            both | hbt.DEPTH_EVENT | np.where(buy[depth], hbt.BUY_EVENT, hbt.SELL_EVENT),
            both | hbt.TRADE_EVENT | np.where(buy[trade], hbt.SELL_EVENT, hbt.BUY_EVENT),
        ]
    )
    at = np.concatenate([depth, trade])
    events["exch_ts"] = events["local_ts"] = ts[at]
    events["px"] = px[at]
    events["qty"] = np.concatenate([qty[depth], np.asarray(data.size_shares)[trade]])
    events = events[np.argsort(events["exch_ts"], kind="stable")]

    @njit
    def drive(bt):
        total = 0.0
        while bt.elapse(1_000_000_000) == 0:
            total += bt.depth(0).best_bid_tick
        return total

    def once():
        asset = (
            hbt.BacktestAsset()
            .data(events)
            .linear_asset(1.0)
            .constant_order_latency(25_000, 25_000)
            .risk_adverse_queue_model()
            .no_partial_fill_exchange()
            .trading_value_fee_model(0.0, 0.0)
            .tick_size(1.0)
            .lot_size(1.0)
        )
        bt = hbt.HashMapMarketDepthBacktest([asset])
        start = time.perf_counter()
        drive(bt)
        seconds = time.perf_counter() - start
        bt.close()
        return seconds

    try:
        once()  # numba compile
        t = min(once() for _ in range(repeats))
    except Exception as err:
        return [], f"hftbacktest failed ({type(err).__name__}: {str(err)[:200]})"
    return [("hftbacktest L2 replay (depth + trade events)", 1, events.size, events.size / t)], None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", default="64,1024", help="book counts besides 1")
    parser.add_argument("--levels", type=int, default=10, help="book levels per side")
    parser.add_argument(
        "--messages-per-book",
        type=int,
        default=4096,
        help="messages per book in the batched replay",
    )
    parser.add_argument(
        "--events-per-book",
        type=int,
        default=2000,
        help="expected Hawkes events per simulated book",
    )
    parser.add_argument(
        "--peer-messages-per-book",
        type=int,
        default=512,
        help="messages per book in the peer's batched replay (it is much slower)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--env-paths", type=int, default=4096, help="paths of the environment")
    parser.add_argument("--env-decisions", type=int, default=50, help="decisions per path")
    parser.add_argument(
        "--env-event-clock",
        type=int,
        default=16,
        help="flow events per decision of the event-clock case (0: skip it)",
    )
    parser.add_argument("--env-interval-ms", type=float, default=10.0)
    parser.add_argument("--no-env", action="store_true", help="skip the environment case")
    parser.add_argument(
        "--env-only", action="store_true", help="only the environment cases (no replay, flow)"
    )
    parser.add_argument(
        "--peer-batches", default="64", help="book counts besides 1 for JAX-LOB (much slower)"
    )
    parser.add_argument("--peer-path", default=None, help="folder holding the jaxlob package")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",") if b]
    if args.env_only:
        env = env_cases(
            args.env_paths,
            args.env_decisions,
            args.env_interval_ms * 1e-3,
            args.repeats,
            args.env_event_clock,
        )
        if args.json:
            print(json.dumps({"environment": env}))
            return 0
        for name, e in env.items():
            print(
                f"{name:28s} {e['seconds']:8.3f} s ({e['share_of_scan']:.2f} x the scan's) "
                f"{e['messages_per_s']:10.4g} flow events/s {e['decisions_per_s']:10.4g} "
                f"decisions/s, compile {e['compile_s']:.1f} s, same paths: "
                f"{e['same_paths_as_scan']}"
            )
        return 0
    data = load_lobster(*AMZN)

    rows = replay_cases(data, args.levels, batches, args.repeats, args.messages_per_book)
    env = None
    if not args.no_env:
        env = env_cases(
            args.env_paths,
            args.env_decisions,
            args.env_interval_ms * 1e-3,
            args.repeats,
            args.env_event_clock,
        )
        rows += [(e["case"], e["books"], e["messages"], e["messages_per_s"]) for e in env.values()]
    replay_best = max(r[3] for r in rows if r[0].startswith("wmjax replay"))
    replay_single = rows[0][3]
    rows += flow_cases([1, *batches], args.repeats, args.events_per_book, args.levels)
    note = hbt_note = "skipped (--no-peer)"
    if not args.no_peer:
        peer_batches = [int(b) for b in args.peer_batches.split(",") if b]
        peer, note = peer_cases(
            data, peer_batches, args.repeats, args.peer_path, args.peer_messages_per_book
        )
        rows += peer
        peer, hbt_note = hftbacktest_cases(data, args.repeats)
        rows += peer
    machine = (
        f"{jax.devices()[0].platform}, {jax.local_device_count()} device(s), jax {jax.__version__}"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "machine": machine,
                    "peer_note": note,
                    "hftbacktest_note": hbt_note,
                    "environment": env,
                    "environment_vs_best_replay": {
                        name: e["messages_per_s"] / replay_best for name, e in env.items()
                    }
                    if env
                    else None,
                    "replay_single_vs_peers": {
                        c: replay_single / r for c, b, _, r in rows if b == 1 and "wmjax" not in c
                    },
                    "results": [
                        {"case": c, "books": b, "messages": n, "messages_per_s": r}
                        for c, b, n, r in rows
                    ],
                }
            )
        )
        return 0
    print(f"order-book throughput on {machine}")
    print(f"{'case':58s} {'books':>6s} {'messages':>10s} {'msg/s':>12s}")
    for case, books, n, rate in rows:
        print(f"{case:58s} {books:6d} {n:10d} {rate:12.3e}")
    for name, e in (env or {}).items():
        print(
            f"environment, {name}: {e['seconds']:.3f} s ({e['share_of_scan']:.2f} x the scan's), "
            f"{e['decisions_per_s']:.3e} decisions/s, compile {e['compile_s']:.1f} s; flow "
            f"events/s = {e['messages_per_s'] / replay_best:.4f} x the best replay msg/s"
            + (
                f"; same paths as the scan: {e['same_paths_as_scan']}"
                if e["same_paths_as_scan"] is not None
                else ""
            )
        )
    for c, b, _, r in rows:
        if b == 1 and "wmjax" not in c:
            print(f"single-book replay, wmjax / {c}: {replay_single / r:.2f}x")
    for label, text in (("JAX-LOB", note), ("hftbacktest", hbt_note)):
        if text:
            print(f"{label}: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
