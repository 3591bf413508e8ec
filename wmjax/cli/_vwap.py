"""`wmjax vwap VOLUME_CSV`: volume-profile forecasts and VWAP schedules on the real days of a
`bar_start,volume` CSV, out of sample."""

from __future__ import annotations

import jax

from wmjax._checks import positive_int
from wmjax.cli._common import add_json_flag, print_json, print_table, progress


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "vwap",
        help="forecast intraday volume profiles and score VWAP schedules on real days",
        description=(
            "Forecast each test day's volume curve from earlier days only (rolling mean of the "
            "last 21 days, a power mean of them with a closing uplift on month-ends and expiry "
            "days, Bialkowski-Darolles-Le Fol, Kalman filter, the VWAP world model at "
            "the open and updated as bins print) and replay a day-long buy of 10%% of ADV with "
            "each schedule against the day's real volumes; report the forecast error and the "
            "VWAP tracking error. The CSV has the header bar_start,volume (any bin width)."
        ),
    )
    p.add_argument("volume_csv", metavar="VOLUME_CSV", help="bar_start,volume CSV")
    p.add_argument(
        "--test-from",
        metavar="DATE",
        default=None,
        help="first test day YYYY-MM-DD (default: after the first 60 complete days)",
    )
    p.add_argument("--paths", type=int, default=256, help="price paths per test day")
    p.add_argument(
        "--risk-aversion",
        type=float,
        default=float("inf"),
        metavar="LAMBDA",
        help="schedule: inf (default) trades to the forecast cumulative curve, 0 splits what "
        "remains by the forecast (risk-neutral re-forecast VWAP), in between trades off "
        "tracking against impact",
    )
    p.add_argument("--seed", type=int, default=0)
    add_json_flag(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from wmjax.analytics import VWAP_METHODS, vwap_report
    from wmjax.data import load_volume_bins

    bins = load_volume_bins(args.volume_csv)
    n_paths = positive_int("--paths", args.paths, minimum=2)
    with progress(not args.json) as bar:
        bar.add_task("forecasting and replaying test days", total=None)
        report = vwap_report(
            jax.random.key(args.seed),
            bins,
            args.test_from,
            n_paths=n_paths,
            risk_aversion=args.risk_aversion,
        )
    if args.json:
        print_json(
            {
                "methods": {m: report.summary(m) for m in VWAP_METHODS},
                "test_days": int(report.days.size),
            }
        )
        return 0
    rows = []
    for m in VWAP_METHODS:
        s = report.summary(m)
        mape_gain, mape_se = report.paired(m, "mape")
        te_gain, te_se = report.paired(m, "tracking_bps")
        rows.append(
            [
                m,
                s["mape"],
                s["mae_share"],
                s["tracking_error_bps"],
                s["tracking_error_bps_std"],
                float(report.scores[m]["is_bps"].mean()),
                "—" if m == "rolling_mean" else f"{mape_gain:+.4f} ± {mape_se:.4f}",
                "—" if m == "rolling_mean" else f"{te_gain:+.3f} ± {te_se:.3f}",
            ]
        )
    print_table(
        f"{args.volume_csv}: {report.days.size} test days {report.days[0]} .. {report.days[-1]}"
        f" ({report.dropped_days} incomplete days dropped)",
        [
            "method",
            "MAPE",
            "MAE share",
            "|TE| bps",
            "TE std",
            "IS bps",
            "ΔMAPE vs RM",
            "ΔTE vs RM",
        ],
        rows,
    )
    learned = "world_model_dynamic"
    print_table(
        f"{learned} against the dynamic baselines (paired over test days; + = {learned} better)",
        ["baseline", "ΔMAPE", "SE", "ΔTE bps", "SE"],
        [[b, *report.paired(learned, "mape", b), *report.paired(learned, "tracking_bps", b)]
         for b in ("rolling_mean", "kalman_dynamic", "bdf_dynamic")],
    )  # fmt: skip
    print(
        f"forecasts {report.forecast_s:.1f} s (world model training included), "
        f"replays {report.replay_s:.1f} s"
    )
    return 0
