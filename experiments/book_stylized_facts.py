"""Does the simulated book look like the real one? AMZN (LOBSTER, 2012-06-21) vs the calibrated
Hawkes-driven book, side by side: spread distribution, event rates, mid-price signature plot and
the autocorrelation of trade signs. Writes a table, `stylized_facts.json` and
`stylized_facts.png` to `--out`.

Tolerances, and why:
* event rates within 10% per type: the Hawkes MLE matches the stationary rate of each type to
  the empirical one, so only simulation noise and the finite horizon separate them;
* mean spread within a factor of 1.5 and the 10-90% range overlapping: the spread follows from
  where limit orders land relative to the opposite quote (calibrated) and how fast the touch
  empties (cancels spread over levels, a modelling choice), so we ask for the same scale;
* signature plot (mid variance per second at 1-300 s) within a factor of 3 at every scale: the
  book has no information-driven price moves, only order-flow ones;
* lag-1 trade-sign autocorrelation positive in both (order splitting in real data; Hawkes
  self-excitation of market orders in the simulation).

    python experiments/book_stylized_facts.py --out out/stylized --window-s 3600 --paths 8
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import numpy as np

from wmjax.data import flow_events_from_lobster, load_lobster
from wmjax.market import book_from_levels, calibrate_flow, flow
from wmjax.market._flow_sim import _simulate

LOBSTER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lobster"
#: Used when ../shared is not beside the checkout: the first 800 rows of the same day.
EXCERPT = Path(__file__).resolve().parents[1] / "tests" / "data"
DAY = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"


def _inputs(args, parser) -> tuple[str, str]:
    """The message and order-book files: as given, or the full day in ../shared, or (with a
    note) the excerpt shipped in tests/data when ../shared is absent."""
    message, orderbook = args.message, args.orderbook
    if message is None and orderbook is None:
        message, orderbook = (str(LOBSTER / DAY.format(k)) for k in ("message", "orderbook"))
        if not Path(message).is_file():
            message = str(EXCERPT / "AMZN_2012-06-21_message_1_first800rows.csv")
            orderbook = str(EXCERPT / "AMZN_2012-06-21_orderbook_1_first800rows.csv")
            print(
                f"note: {LOBSTER} not found; using the 800-row excerpt in {EXCERPT} (pass "
                "--message and --orderbook for the full day)"
            )
    for option, path in (("--message", message), ("--orderbook", orderbook)):
        if path is None or not Path(path).is_file():
            parser.error(f"{option} {path} does not exist; pass both --message and --orderbook")
    return message, orderbook


SCALES_S = (1, 2, 5, 10, 30, 60, 120, 300)
LAGS = 10


def _on_grid(times, values, grid):
    """Value of a step function (value after each time) at each grid time."""
    idx = np.searchsorted(times, grid, side="right") - 1
    return values[np.clip(idx, 0, None)]


def _signature(mid_on_grid_1s: np.ndarray) -> dict[int, float]:
    """Realised variance of mid changes over tau seconds, per second (ticks^2 / s)."""
    out = {}
    for tau in SCALES_S:
        x = mid_on_grid_1s[::tau]
        if x.size > 2:
            out[tau] = float(np.sum(np.diff(x) ** 2) / (tau * (x.size - 1)))
    return out


def _sign_acf(signs: np.ndarray) -> list[float]:
    s = signs - signs.mean()
    var = float(np.mean(s * s)) or 1.0
    return [float(np.mean(s[:-k] * s[k:]) / var) for k in range(1, LAGS + 1)]


def _facts(times, bid, ask, trade_times, trade_signs, type_counts, horizon_s):
    grid = np.arange(1.0, horizon_s)
    b, a = _on_grid(times, bid, grid), _on_grid(times, ask, grid)
    spread = a - b
    return {
        "spread_mean_ticks": float(spread.mean()),
        "spread_p10_ticks": float(np.percentile(spread, 10)),
        "spread_p90_ticks": float(np.percentile(spread, 90)),
        "spread_hist": np.bincount(np.clip(spread, 0, 40).astype(int), minlength=41).tolist(),
        "rates_per_s": (np.asarray(type_counts) / horizon_s).tolist(),
        "signature_ticks2_per_s": _signature((a + b) / 2.0),
        "trade_sign_acf": _sign_acf(trade_signs.astype(float)),
        "trades": int(trade_signs.size),
    }


def real_facts(data, horizon_s: float) -> dict:
    t = np.asarray(data.times_s) - data.times_s[0]
    keep = t <= horizon_s
    bid = np.asarray(data.bid_price_ticks)[:, 0].astype(float)
    ask = np.asarray(data.ask_price_ticks)[:, 0].astype(float)
    ft, marks, _ = flow_events_from_lobster(data)
    inside = ft <= horizon_s
    market = inside & (marks >= flow.FlowType.MARKET_BUY)
    signs = np.where(marks[market] == flow.FlowType.MARKET_BUY, 1, -1)
    counts = np.bincount(marks[inside], minlength=flow.N_TYPES)
    return _facts(t[keep], bid[keep], ask[keep], ft[market], signs, counts, horizon_s)


def sim_facts(path, horizon_s: float) -> dict:
    valid = np.asarray(path.valid)
    t = np.asarray(path.times_s)[valid]
    kinds = np.asarray(path.flow_type)[valid]
    sign = np.asarray(path.trade_sign)[valid]
    traded = sign != 0
    counts = np.bincount(kinds, minlength=flow.N_TYPES)
    return _facts(
        t,
        np.asarray(path.best_bid_ticks)[valid].astype(float),
        np.asarray(path.best_ask_ticks)[valid].astype(float),
        t[traded],
        sign[traded],
        counts,
        horizon_s,
    )


def _initial_book(data, fit, levels: int):
    """Best quotes of the first row, then one level per tick with the median limit size."""
    bid0, ask0 = int(data.bid_price_ticks[0, 0]), int(data.ask_price_ticks[0, 0])
    lim = np.asarray(fit.params.sizes.values[0]), np.asarray(fit.params.sizes.weights[0])
    median = float(lim[0][np.searchsorted(np.cumsum(lim[1]) / lim[1].sum(), 0.5)])
    depth = np.arange(levels // 2)
    size = np.full(depth.size, median)
    return book_from_levels(ask0 + depth, size, bid0 - depth, size, levels)


def _mean_facts(all_facts: list[dict]) -> dict:
    out = {}
    for key, value in all_facts[0].items():
        if isinstance(value, dict):
            out[key] = {k: float(np.mean([f[key][k] for f in all_facts])) for k in value}
        elif isinstance(value, list):
            out[key] = np.mean([f[key] for f in all_facts], axis=0).tolist()
        else:
            out[key] = float(np.mean([f[key] for f in all_facts]))
    return out


def compare(real: dict, sim: dict) -> dict[str, bool]:
    """The stated tolerances (module doc), True = within."""
    rate_ratio = np.asarray(sim["rates_per_s"]) / np.asarray(real["rates_per_s"])
    sig = [
        sim["signature_ticks2_per_s"][k] / real["signature_ticks2_per_s"][k]
        for k in real["signature_ticks2_per_s"]
        if k in sim["signature_ticks2_per_s"]
    ]
    spread_ratio = sim["spread_mean_ticks"] / real["spread_mean_ticks"]
    return {
        "event_rates_within_10pct": bool(np.all(np.abs(rate_ratio - 1) <= 0.10)),
        "mean_spread_within_1.5x": bool(1 / 1.5 <= spread_ratio <= 1.5),
        "spread_ranges_overlap": bool(
            sim["spread_p10_ticks"] <= real["spread_p90_ticks"]
            and real["spread_p10_ticks"] <= sim["spread_p90_ticks"]
        ),
        "signature_within_3x": bool(np.all((np.asarray(sig) >= 1 / 3) & (np.asarray(sig) <= 3))),
        "lag1_sign_acf_positive_in_both": bool(
            real["trade_sign_acf"][0] > 0 and sim["trade_sign_acf"][0] > 0
        ),
    }


def _plot(real: dict, sim: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 4, figsize=(17, 3.8))
    for facts, name in ((real, "AMZN"), (sim, "simulated")):
        hist = np.asarray(facts["spread_hist"], float)
        ax[0].plot(np.arange(hist.size), hist / hist.sum(), drawstyle="steps-mid", label=name)
        ax[1].bar(
            np.arange(flow.N_TYPES) + (0.2 if name == "simulated" else -0.2),
            facts["rates_per_s"],
            width=0.4,
            label=name,
        )
        sig = facts["signature_ticks2_per_s"]
        ax[2].plot(list(map(int, sig)), list(sig.values()), "o-", label=name)
        ax[3].plot(range(1, LAGS + 1), facts["trade_sign_acf"], "o-", label=name)
    ax[0].set(title="spread (1-s grid)", xlabel="ticks", ylabel="share")
    ax[1].set(title="event rates", ylabel="events / s")
    ax[1].set_xticks(range(flow.N_TYPES), [t.name.lower() for t in flow.FlowType], rotation=45)
    ax[2].set(title="signature plot", xlabel="tau (s)", ylabel="var(mid) / tau, ticks^2/s")
    ax[2].set_xscale("log")
    ax[3].set(title="trade-sign autocorrelation", xlabel="lag (trades)")
    for a in ax:
        a.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--message", default=None, help="LOBSTER message file (AMZN day)")
    parser.add_argument("--orderbook", default=None, help="its order-book file")
    parser.add_argument(
        "--window-s", type=float, default=3600.0, help="calibration window (at most the file's)"
    )
    parser.add_argument("--paths", type=int, default=8, help="simulated books")
    parser.add_argument("--levels", type=int, default=64, help="book levels per side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/book_stylized_facts")
    args = parser.parse_args(argv)

    data = load_lobster(*_inputs(args, parser))
    span = float(flow_events_from_lobster(data)[0][-1])
    fit = calibrate_flow(data, window_s=min(args.window_s, span))
    horizon = fit.horizon_s
    expected = float(np.sum(fit.event_counts)) / horizon
    capacity = int(2 * expected * horizon + 1000)
    book = _initial_book(data, fit, args.levels)
    keys = jax.random.split(jax.random.key(args.seed), args.paths)
    run = jax.jit(jax.vmap(lambda k: _simulate(k, fit.params, book, horizon, capacity)[1]))
    paths = run(keys)
    sims = [sim_facts(jax.tree.map(lambda x, i=i: x[i], paths), horizon) for i in range(args.paths)]
    sim = _mean_facts(sims)
    real = real_facts(data, horizon)
    verdict = compare(real, sim)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "window_s": horizon,
        "paths": args.paths,
        "hawkes_fit": fit.hawkes_fit.report,
        "real": real,
        "simulated": sim,
        "within_tolerance": verdict,
    }
    (out / "stylized_facts.json").write_text(json.dumps(result, indent=1))
    _plot(real, sim, out / "stylized_facts.png")

    print(f"AMZN vs calibrated book, {horizon:.0f} s window, {args.paths} simulated paths")
    print(f"{'fact':34s} {'AMZN':>12s} {'simulated':>12s}")
    r_spread, s_spread = real["spread_mean_ticks"], sim["spread_mean_ticks"]
    print(f"{'mean spread (ticks)':34s} {r_spread:12.2f} {s_spread:12.2f}")
    r_range = f"{real['spread_p10_ticks']:.0f}-{real['spread_p90_ticks']:.0f}"
    s_range = f"{sim['spread_p10_ticks']:.0f}-{sim['spread_p90_ticks']:.0f}"
    print(f"{'spread p10-p90 (ticks)':34s} {r_range:>12s} {s_range:>12s}")
    for t, (r, s) in enumerate(zip(real["rates_per_s"], sim["rates_per_s"], strict=True)):
        print(f"{'rate ' + flow.FlowType(t).name.lower() + ' (1/s)':34s} {r:12.4f} {s:12.4f}")
    for tau, r in real["signature_ticks2_per_s"].items():
        s = sim["signature_ticks2_per_s"].get(tau, float("nan"))
        print(f"{f'signature tau={tau}s (ticks^2/s)':34s} {r:12.3f} {s:12.3f}")
    for lag in (1, 2, 5, 10):
        print(
            f"{f'trade-sign acf lag {lag}':34s} {real['trade_sign_acf'][lag - 1]:12.3f} "
            f"{sim['trade_sign_acf'][lag - 1]:12.3f}"
        )
    for name, ok in verdict.items():
        print(f"{name:34s} {'yes' if ok else 'NO':>12s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
