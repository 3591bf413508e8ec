"""`wmjax replay`: LOBSTER messages through the book, checked against its order-book file."""

from __future__ import annotations

import time

from wmjax.cli._common import add_json_flag, print_json, print_table
from wmjax.data import load_lobster
from wmjax.market import replay_free_running, replay_one_step, status_dict


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "replay",
        help="replay LOBSTER messages through the order book and check every row",
        description=(
            "Replay a LOBSTER message file through the price-level book and compare each row with "
            "LOBSTER's order-book file: free-running from the first row, or --one-step (each "
            "message applied to the previous row as the file shows it)."
        ),
    )
    p.add_argument("message_file", help="LOBSTER message CSV")
    p.add_argument("--orderbook", required=True, help="the matching LOBSTER order-book CSV")
    p.add_argument("--levels", type=int, required=True, help="levels K of the order-book file")
    p.add_argument("--one-step", action="store_true", help="check each message on its own")
    add_json_flag(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from wmjax._checks import InputError, positive_int

    levels = positive_int("--levels", args.levels)
    data = load_lobster(args.message_file, args.orderbook)
    if data.levels != levels:
        raise InputError(
            f"--levels {levels} does not match {args.orderbook}, which has {data.levels} levels"
        )
    check = replay_one_step if args.one_step else replay_free_running
    check(data)  # compile once so the timing below is the replay itself
    start = time.perf_counter()
    result = check(data)
    seconds = time.perf_counter() - start
    out = {
        "rows": result.rows,
        "determinable_rows": result.determinable_rows,
        "matching_rows": result.matching_rows,
        "match_rate": result.match_rate,
        "messages_per_s": result.rows / max(seconds, 1e-12),
        "first_departure_row": result.first_departure_row,
        "mode": "one-step" if args.one_step else "free-running",
        "status": status_dict(result.status),
    }
    if args.json:
        print_json(out)
    else:
        print_table(
            f"LOBSTER replay ({out['mode']}, {levels} levels)",
            ["quantity", "value"],
            [(k, v) for k, v in out.items() if k not in ("mode", "status")]
            + [(k, v) for k, v in out["status"].items()],
        )
    return 0
