"""`wmjax best-execution`: the best-execution report of historical fills per period, as HTML
and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from wmjax._checks import InputError
from wmjax.cli._common import add_json_flag, default_out, print_json, print_table


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "best-execution",
        help="best-execution report per period: IS vs arrival and VWAP, venues, price improvement",
        description=(
            "Read fills files (one parent order each: time,side,shares,price and optional "
            "venue, liquidity, bid, ask columns; the sidecar JSON gives arrival_price, start, end "
            "and optional strategy, date, order_type, market_vwap) and write the best-execution "
            "report per period: orders, IS vs arrival and vs VWAP by strategy and size bucket, "
            "fill rates, venue shares, price improvement and order-handling statistics in the "
            "manner of MiFID II RTS 28 and SEC Rules 605/606, as HTML (--out) and JSON (beside "
            "it, and on stdout with --json)."
        ),
    )
    p.add_argument("fills", nargs="+", help="fills CSV files, or folders of them")
    p.add_argument("--period", default="day", help="day, week, month or all")
    p.add_argument(
        "--out", default=f"{default_out('best-execution')}/report.html", help="the HTML file"
    )
    p.add_argument(
        "--allow-implausible-prices",
        action="store_true",
        help="accept fill prices more than 50%% away from the arrival price",
    )
    add_json_flag(p)
    p.set_defaults(run=run_best_execution)


def _files(items) -> list[Path]:
    files = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.glob("*.csv"))
            if not found:
                raise InputError(f"fills folder {path} holds no .csv files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"fills file {path} does not exist")
    return files


def run_best_execution(args) -> int:
    from wmjax.data import load_fills
    from wmjax.desk import PERIODS, best_execution_report, report_html

    if args.period not in PERIODS:
        raise InputError(f"--period must be one of {', '.join(PERIODS)}, got {args.period!r}")
    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out {out} must name an .html file")
    files = _files(args.fills)
    deviation = None if args.allow_implausible_prices else 0.5
    orders = [load_fills(f, max_price_deviation=deviation) for f in files]
    report = best_execution_report(orders, args.period, names=[f.stem for f in files])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report_html(report))
    json_path = out.with_suffix(".json")
    json_path.write_text(json.dumps(report, indent=1))
    report["html"], report["json"] = str(out), str(json_path)
    if args.json:
        print_json(report)
        return 0
    print_table(
        f"Best execution per {args.period} ({len(orders)} orders)",
        [
            "period",
            "orders",
            "fill rate",
            "IS vs arrival bps",
            "vs VWAP bps",
            "% improved",
            "top venue",
        ],
        [
            (
                p["period"],
                p["totals"]["orders"],
                p["totals"]["fill_rate"],
                p["totals"]["is_vs_arrival_bps"],
                "-" if p["totals"]["vs_vwap_bps"] is None else p["totals"]["vs_vwap_bps"],
                "-"
                if p["price_improvement"] is None
                else 100 * p["price_improvement"]["price_improved_share"],
                "-" if not p["venues"] else p["venues"][0]["venue"],
            )
            for p in report["periods"]
        ],
    )
    print(f"wrote {out} and {json_path}")
    return 0
