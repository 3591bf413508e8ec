"""Fills-file options and the day's conditioned market, shared by `counterfactual` and `tca`."""

from __future__ import annotations

import numpy as np


def add_fills_options(p) -> None:
    p.add_argument("fills", nargs="+", help="fills CSV(s): time,side,shares,price (one order each)")
    p.add_argument("--market", required=True, help="the day's LOBSTER message file")
    p.add_argument(
        "--orderbook",
        default=None,
        help="its order-book file (default: the message file's name "
        "with 'message' replaced by 'orderbook')",
    )
    p.add_argument("--arrival-price", type=float, default=None, help="overrides the sidecar")
    p.add_argument("--start", default=None, help="order start (s after midnight or HH:MM:SS)")
    p.add_argument("--end", default=None, help="order end (s after midnight or HH:MM:SS)")
    p.add_argument("--quantity", type=float, default=None, help="order size (default: filled)")
    p.add_argument("--end-price", type=float, default=None, help="mid at the end")
    p.add_argument("--periods", type=int, default=10, help="decision intervals (10)")
    p.add_argument("--paths", type=int, default=1000, help="paths per order, >= 2 (1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--allow-implausible-prices",
        action="store_true",
        help="accept fill prices more than 50%% away from the arrival price",
    )


def load_day(args):
    from wmjax.cli._common import load_lobster_day
    from wmjax.data import load_fills

    data = load_lobster_day(args.market, args.orderbook)
    fills = [
        load_fills(
            f,
            arrival_price=args.arrival_price,
            start=args.start,
            end=args.end,
            quantity_shares=args.quantity,
            end_price=args.end_price,
            max_price_deviation=None if args.allow_implausible_prices else 0.5,
        )
        for f in args.fills
    ]
    return data, fills


def conditioned(data, fills, periods):
    import jax

    from wmjax.analytics import day_market_params

    params, infos = [], []
    for f in fills:
        p, info = day_market_params(
            data, f.start_s, f.end_s, periods, arrival_price=f.arrival_price
        )
        params.append(p)
        infos.append(info)
    return jax.tree.map(lambda *xs: np.stack(xs), *params), infos
