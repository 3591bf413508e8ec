"""`wmjax tca`: realised against simulated shortfall per window, drift alert, metrics."""

from __future__ import annotations

from pathlib import Path

from wmjax.cli._common import add_json_flag, print_json, print_table, progress
from wmjax.cli._fills import add_fills_options, conditioned, load_day


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tca",
        help="simulator-backed TCA: realised vs simulated shortfall, drift alert, metrics",
        description=(
            "Each fills file is one window (one order): its realised IS against the simulated "
            "distribution of the same strategy on a market conditioned on the day; prints "
            "tca_divergence_v1 records, runs the drift monitor over the windows in order, and "
            "writes the metrics in Prometheus text format."
        ),
    )
    add_fills_options(p)
    p.add_argument("--strategy", default="vwap", help="the strategy the order ran (vwap)")
    p.add_argument("--threshold-bps", type=float, default=10.0, help="drift threshold (10)")
    p.add_argument("--consecutive", type=int, default=3, help="windows over it to alert (3)")
    p.add_argument("--metrics-out", default=None, help="write Prometheus text metrics here")
    add_json_flag(p)
    p.set_defaults(run=run_tca)


def run_tca(args) -> int:
    import jax

    from wmjax.analytics import (
        DriftMonitor,
        counterfactual,
        order_from_fills,
        simulator_version,
        tca_divergence,
    )
    from wmjax.market import ImpactMarket

    monitor = DriftMonitor(args.threshold_bps, args.consecutive)
    with progress(not args.json) as bar:
        task = bar.add_task("simulating the expected shortfall", total=1)
        data, fills = load_day(args)
        params, _ = conditioned(data, fills, args.periods)
        report = counterfactual(
            [order_from_fills(f) for f in fills],
            fills,
            ImpactMarket(),
            params,
            (args.strategy,),
            args.paths,
            jax.random.key(args.seed),
            keep_samples=True,
        )
        bar.advance(task)
    version = simulator_version()
    windows = []
    for i, f in enumerate(fills):
        record = tca_divergence(report.realised_bps[i], report.is_samples_bps[i, 0], version)
        alert = monitor.update(record, notional=f.quantity_shares * f.arrival_price)
        windows.append({"fills_file": args.fills[i], **record, "drift_alert": alert})
    text = monitor.prometheus({"symbol": fills[0].symbol} if fills[0].symbol else None)
    if args.metrics_out:
        Path(args.metrics_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.metrics_out).write_text(text)
    out = {
        "windows": windows,
        "metrics": monitor.metrics(),
        "drift_alert": monitor.alert,
        "threshold_bps": monitor.threshold_bps,
        "consecutive": monitor.consecutive,
    }
    if args.json:
        print_json(out)
        return 0
    print_table(
        f"TCA against the simulator ({args.strategy}; drift alert after {args.consecutive} "
        f"windows over {args.threshold_bps:g} bps)",
        ["window", "realised bps", "sim p50 bps", "sim p95 bps", "divergence bps", "alert"],
        [
            (
                w["fills_file"],
                w["realized_shortfall_bps"],
                w["expected_shortfall_bps_p50"],
                w["expected_shortfall_bps_p95"],
                w["divergence_bps"],
                str(w["drift_alert"]),
            )
            for w in windows
        ],
    )
    print(text, end="")
    return 0
