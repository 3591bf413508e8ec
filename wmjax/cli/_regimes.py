"""`wmjax regimes BARS`: the regime timeline of real bars (a Lean bar file, or the executions of
a LOBSTER message file made into bars): shares of time per regime, episodes, transitions, PNG."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from wmjax._checks import positive, positive_int, require
from wmjax.analytics import regime_timeline, timeline_summary
from wmjax.cli._common import (
    add_json_flag,
    console,
    default_out,
    out_dir,
    print_json,
    print_table,
    progress,
    save_figure,
)
from wmjax.data import EventType, bars_from_trades, load_lean_bars, load_lobster
from wmjax.market import REGIME_NAMES

_COLOURS = ("tab:green", "tab:blue", "tab:red", "tab:gray")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "regimes",
        help="regime timeline (trending/reverting/volatile/calm) of real bars",
        description="Label every bar of BARS with one of four regimes by a 4-state Gaussian "
        "HMM fitted by EM (features: return, log Parkinson variance, relative volume, reversal "
        "product, session-mean variance). BARS is a QuantConnect Lean bar file (.csv or .zip; "
        "lines `yyyyMMdd HH:mm,open,high,low,close,volume`, prices x 10,000), or with --lobster "
        "a LOBSTER message file whose executions become --bar-s bars. Prints the shares of "
        "time, the episodes and the transitions, and writes a timeline PNG.",
    )
    p.add_argument("bars", help="Lean bar file (.csv/.zip), or a LOBSTER message file")
    p.add_argument("--lobster", action="store_true", help="BARS is a LOBSTER message file")
    p.add_argument("--bar-s", type=float, default=60.0, help="bar length for --lobster (60)")
    p.add_argument(
        "--session-bars",
        type=int,
        default=None,
        help="bars in the session-scale window (default: bars per day; 30 with --lobster)",
    )
    p.add_argument("--seed", type=int, default=0, help="EM start (default 0)")
    p.add_argument("--out", default=default_out("regimes"), help="folder for the timeline PNG")
    add_json_flag(p)
    p.set_defaults(run=run)


def _lobster_bars(path: Path, bar_s: float):
    match = re.search(r"_(\d{4}-\d{2}-\d{2})_", path.name)
    require(match is not None, f"{path}: cannot read the date from the LOBSTER file name")
    data = load_lobster(path)
    trade = np.isin(data.event_type, [EventType.EXECUTION, EventType.HIDDEN_EXECUTION])
    require(bool(trade.sum() >= 10), f"{path}: fewer than 10 executions to make bars from")
    return bars_from_trades(
        data.times_s[trade],
        data.price_raw[trade] / 10_000.0,
        data.size_shares[trade],
        bar_s=bar_s,
        day=match.group(1),
        source=str(path),
    )


def run(args) -> int:
    path = Path(args.bars)
    session = args.session_bars
    if session is not None:
        session = positive_int("--session-bars", session)
    with progress(enabled=not args.json) as bar:
        bar.add_task("reading bars", total=None)
        if args.lobster:
            bars = _lobster_bars(path, float(positive("--bar-s", args.bar_s)))
            session = session or 30
        else:
            bars = load_lean_bars(path)
        folder = out_dir("--out", args.out)  # before the fitting
        bar.add_task("fitting the HMM (EM)", total=None)
        timeline = regime_timeline(bars, session_bars=session, n_restarts=1)
    summary = timeline_summary(timeline)
    png = _plot(timeline, bars, folder / f"regimes_{path.stem}.png")
    summary["png"] = str(png)
    if args.json:
        print_json(summary)
        return 0
    span = f"{summary['start']} .. {summary['end']}"
    console.print(f"{summary['source']}: {summary['bars']} bars, {span}")
    rows = []
    for name in REGIME_NAMES:
        e = summary["episodes"][name]
        rows.append([name, summary["share"][name], e["count"], e["mean_bars"], e["longest_bars"]])
    print_table("regimes", ["regime", "share", "episodes", "mean bars", "longest bars"], rows)
    trans = summary["transitions"]
    print_table(
        "transitions (from row to column, episode changes)",
        ["from", *REGIME_NAMES],
        [[a, *("-" if a == b else trans[a][b] for b in REGIME_NAMES)] for a in REGIME_NAMES],
    )
    console.print(f"latest bar: {summary['latest']}; timeline: {png}")
    return 0


def _plot(timeline, bars, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    days = mdates.date2num(timeline.time.astype("datetime64[ms]"))
    fig, (ax_p, ax_r) = plt.subplots(
        2, 1, figsize=(12, 5), sharex=True, gridspec_kw={"height_ratios": [4, 1]}
    )
    ax_p.plot(days, bars.close, color="black", lw=0.6)
    volatile = np.asarray(timeline.labels) == REGIME_NAMES.index("volatile")
    ax_p.fill_between(
        days,
        0,
        1,
        where=volatile,
        color="tab:red",
        alpha=0.25,
        lw=0,
        transform=ax_p.get_xaxis_transform(),
        label="volatile",
    )
    ax_p.set_ylabel("close ($)")
    ax_p.set_title(f"Regime timeline: {Path(timeline.source).name}")
    ax_p.legend(loc="upper left")
    ax_r.imshow(
        np.asarray(timeline.labels)[None],
        aspect="auto",
        cmap=ListedColormap(_COLOURS),
        vmin=-0.5,
        vmax=3.5,
        interpolation="nearest",
        extent=(days[0], days[-1], 0, 1),
    )
    ax_r.set_yticks([])
    ax_r.set_ylabel("regime")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in _COLOURS]
    ax_r.legend(handles, REGIME_NAMES, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.4))
    ax_r.xaxis_date()
    return save_figure(fig, path)
