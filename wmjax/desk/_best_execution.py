"""Best-execution reporting per period from historical fills, with the order-handling statistics
that MiFID II RTS 28 (Commission Delegated Regulation (EU) 2017/576: top execution venues by
volume, share of orders, passive and aggressive shares) and SEC Rules 605 / 606 (17 CFR
242.605-606: execution quality by order size, price improvement at / inside / outside the quote,
effective spread, time to execution; routing by venue and order type) ask for.

Definitions (per order, `wmjax.data.HistoricalFills`; side s = +1 buy, -1 sell):
- IS vs arrival (bps): `wmjax.analytics.realised_is_bps` (unfilled shares at the end price
  when known); aggregated by arrival notional (quantity x arrival price), i.e. total cost /
  total notional;
- vs VWAP (bps): s (average fill price - market VWAP) / market VWAP x 1e4, orders with a
  `market_vwap`; aggregated by filled notional;
- fill rate: filled / ordered shares (aggregate: total filled / total ordered);
- price improvement per share: s (quote - price) with the quote the ask for a buy, the bid
  for a sell (> 0 improved, = 0 at the quote, < 0 outside it); effective spread: 2 s (price -
  mid), mid = (bid + ask) / 2; both share-weighted over fills that give quotes;
- size buckets by order quantity in shares (Rule 605's categories before its 2024 amendments:
  100-499, 500-1999, 2000-4999, 5000-9999, with < 100 and >= 10000 added);
- venue shares by filled shares; a venue's share of orders is the share of orders with at least
  one fill there; passive / aggressive by the fills' liquidity flag;
- time to execution: share-weighted seconds from the order's start to each fill.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date

import numpy as np

from wmjax._checks import InputError
from wmjax.analytics import realised_is_bps

PERIODS = ("day", "week", "month", "all")
SIZE_BUCKETS = ((0, 100), (100, 500), (500, 2000), (2000, 5000), (5000, 10000), (10000, math.inf))
_TOL = 1e-9


def period_key(order, period: str) -> str:
    """The period an order belongs to, from its sidecar `date`: YYYY-MM-DD (day), YYYY-Www
    (ISO week), YYYY-MM (month), "all"; orders without a date fall in "undated"."""
    if period not in PERIODS:
        raise InputError(f"--period must be one of {PERIODS}, got {period!r}")
    if period == "all":
        return "all"
    if not order.date:
        return "undated"
    d = date.fromisoformat(order.date)
    if period == "day":
        return d.isoformat()
    if period == "week":
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{d.year}-{d.month:02d}"


def size_bucket(quantity_shares: float) -> str:
    for lo, hi in SIZE_BUCKETS:
        if lo <= quantity_shares < hi:
            return f">= {lo:g}" if math.isinf(hi) else f"{lo:g}-{hi - 1:g}"
    raise InputError(f"order quantity {quantity_shares} is not a share count")


BUCKET_LABELS = [size_bucket(lo) for lo, _ in SIZE_BUCKETS]


def _order_row(order) -> dict:
    filled = order.filled_shares
    avg = float(np.sum(order.prices * order.shares) / filled)
    vs_vwap = (
        None
        if math.isnan(order.market_vwap)
        else order.side * (avg / order.market_vwap - 1.0) * 1e4
    )
    return {
        "order_id": order.order_id,
        "symbol": order.symbol,
        "strategy": order.strategy or "(none)",
        "order_type": order.order_type or "other",
        "side": "buy" if order.side > 0 else "sell",
        "quantity_shares": order.quantity_shares,
        "filled_shares": filled,
        "fill_rate": filled / order.quantity_shares,
        "arrival_notional": order.quantity_shares * order.arrival_price,
        "filled_notional": float(np.sum(order.prices * order.shares)),
        "average_price": avg,
        "is_vs_arrival_bps": realised_is_bps(order),
        "vs_vwap_bps": vs_vwap,
        "size_bucket": size_bucket(order.quantity_shares),
    }


def _aggregate(rows: list[dict]) -> dict:
    notional = sum(r["arrival_notional"] for r in rows)
    with_vwap = [r for r in rows if r["vs_vwap_bps"] is not None]
    vw_notional = sum(r["filled_notional"] for r in with_vwap)
    ordered = sum(r["quantity_shares"] for r in rows)
    return {
        "orders": len(rows),
        "quantity_shares": ordered,
        "filled_shares": sum(r["filled_shares"] for r in rows),
        "fill_rate": sum(r["filled_shares"] for r in rows) / ordered,
        "arrival_notional": notional,
        "is_vs_arrival_bps": sum(r["is_vs_arrival_bps"] * r["arrival_notional"] for r in rows)
        / notional,
        "is_vs_arrival_mean_bps": float(np.mean([r["is_vs_arrival_bps"] for r in rows])),
        "vs_vwap_bps": (
            sum(r["vs_vwap_bps"] * r["filled_notional"] for r in with_vwap) / vw_notional
            if with_vwap
            else None
        ),
        "orders_with_vwap": len(with_vwap),
    }


def _grouped(rows: list[dict], key: str, order=None) -> dict:
    groups = defaultdict(list)
    for r in rows:
        groups[r[key]].append(r)
    keys = sorted(groups, key=(lambda k: order.index(k)) if order else None)
    return {k: _aggregate(groups[k]) for k in keys}


def _quotes(orders) -> dict | None:
    """Rule 605-style price improvement and effective spread over fills with quotes."""
    parts = [o for o in orders if o.bid_prices is not None and o.ask_prices is not None]
    if not parts:
        return None
    side = np.concatenate([np.full(o.shares.size, float(o.side)) for o in parts])
    q = np.concatenate([o.shares for o in parts])
    p = np.concatenate([o.prices for o in parts])
    bid = np.concatenate([o.bid_prices for o in parts])
    ask = np.concatenate([o.ask_prices for o in parts])
    if np.any(bid > ask):
        raise InputError("a fill's bid is above its ask: check the bid and ask columns")
    mid = 0.5 * (bid + ask)
    improvement = side * (np.where(side > 0, ask, bid) - p)
    better, worse = improvement > _TOL, improvement < -_TOL
    at = ~better & ~worse
    total = float(np.sum(q))

    def avg(mask, x):
        return float(np.sum((q * x)[mask]) / np.sum(q[mask])) if mask.any() else None

    eff = 2.0 * side * (p - mid)
    return {
        "shares": total,
        "price_improved_share": float(np.sum(q[better]) / total),
        "at_quote_share": float(np.sum(q[at]) / total),
        "outside_quote_share": float(np.sum(q[worse]) / total),
        "improvement_per_improved_share": avg(better, improvement),
        "improvement_per_improved_share_bps": avg(better, improvement / mid * 1e4),
        "outside_per_share": avg(worse, -improvement),
        "effective_spread": avg(np.ones_like(better), eff),
        "effective_spread_bps": avg(np.ones_like(better), eff / mid * 1e4),
        "quoted_spread_bps": avg(np.ones_like(better), (ask - bid) / mid * 1e4),
    }


def _venues(orders) -> list[dict] | None:
    """RTS 28-style venue table over fills with a venue, by filled shares (largest first)."""
    parts = [o for o in orders if o.venues]
    if not parts:
        return None
    volume, n_orders, passive, aggressive = (defaultdict(float) for _ in range(4))
    for o in parts:
        for v in set(o.venues):
            n_orders[v] += 1
        for i, v in enumerate(o.venues):
            volume[v] += float(o.shares[i])
            if o.liquidity:
                flag = passive if o.liquidity[i] == "passive" else aggressive
                flag[v] += float(o.shares[i])
    total = sum(volume.values())
    rows = []
    for v in sorted(volume, key=lambda v: (-volume[v], v)):
        flagged = passive[v] + aggressive[v]
        rows.append(
            {
                "venue": v,
                "shares": volume[v],
                "volume_share": volume[v] / total,
                "orders_share": n_orders[v] / len(parts),
                "passive_share": passive[v] / flagged if flagged else None,
                "aggressive_share": aggressive[v] / flagged if flagged else None,
            }
        )
    return rows


def _handling(orders, rows) -> dict:
    """Order-handling statistics: order types (Rule 606), time to execution (Rule 605)."""
    kinds = defaultdict(int)
    for r in rows:
        kinds[r["order_type"]] += 1
    q = np.concatenate([o.shares for o in orders])
    wait = np.concatenate([o.times_s - o.start_s for o in orders])
    first = [float(o.times_s[0] - o.start_s) for o in orders]
    return {
        "order_type_share": {k: n / len(rows) for k, n in sorted(kinds.items())},
        "time_to_execution_s": float(np.sum(q * wait) / np.sum(q)),
        "time_to_first_fill_mean_s": float(np.mean(first)),
        "fully_filled_share": float(np.mean([r["fill_rate"] >= 1 - _TOL for r in rows])),
    }


def best_execution_report(orders, period: str = "day", names=None) -> dict:
    """The best-execution report of `orders` (a list of `HistoricalFills`, with the optional
    best-execution columns and sidecar fields) per `period` (one of `PERIODS`); `names` labels
    each order (e.g. its file) where it has no order_id. Returns a JSON-ready dict with one entry
    per period: totals, by strategy, by size bucket, venues, price improvement, order handling,
    and the orders themselves."""
    if not orders:
        raise InputError("no orders: give at least one fills file")
    names = names or [f"order {i + 1}" for i in range(len(orders))]
    by_period = defaultdict(list)
    for order, name in zip(orders, names, strict=True):
        by_period[period_key(order, period)].append((order, name))
    out = []
    for key in sorted(by_period):
        group = [o for o, _ in by_period[key]]
        rows = [
            {**_order_row(o), "order_id": o.order_id or str(name)} for o, name in by_period[key]
        ]
        out.append(
            {
                "period": key,
                "totals": _aggregate(rows),
                "by_strategy": _grouped(rows, "strategy"),
                "by_size_bucket": _grouped(rows, "size_bucket", BUCKET_LABELS),
                "venues": _venues(group),
                "price_improvement": _quotes(group),
                "order_handling": _handling(group, rows),
                "orders": rows,
            }
        )
    return {"schema": "best_execution_v1", "period": period, "periods": out}
