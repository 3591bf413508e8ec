"""The best-execution report as one self-contained HTML page (no scripts, no external files)."""

from __future__ import annotations

import html

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
p.note { color: #555; font-size: 0.85em; }
"""


def _cell(value) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    return html.escape(str(value))


def _table(columns, rows) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_AGG = ("orders", "filled_shares", "fill_rate", "is_vs_arrival_bps", "vs_vwap_bps")
_AGG_HEAD = ("orders", "filled shares", "fill rate", "IS vs arrival bps", "vs VWAP bps")


def _groups(title: str, groups: dict) -> str:
    rows = [(k, *(g[f] for f in _AGG)) for k, g in groups.items()]
    return f"<h3>{html.escape(title)}</h3>" + _table((title.split(" by ")[-1], *_AGG_HEAD), rows)


def _period(p: dict) -> str:
    t = p["totals"]
    parts = [f"<h2>Period {html.escape(p['period'])}</h2>"]
    parts.append(
        _table(
            (
                "orders",
                "ordered shares",
                "filled shares",
                "fill rate",
                "notional",
                "IS vs arrival bps (notional-weighted)",
                "IS mean bps",
                "vs VWAP bps",
                "orders with VWAP",
            ),
            [
                (
                    t["orders"],
                    t["quantity_shares"],
                    t["filled_shares"],
                    t["fill_rate"],
                    t["arrival_notional"],
                    t["is_vs_arrival_bps"],
                    t["is_vs_arrival_mean_bps"],
                    t["vs_vwap_bps"],
                    t["orders_with_vwap"],
                )
            ],
        )
    )
    parts.append(_groups("Execution quality by strategy", p["by_strategy"]))
    parts.append(_groups("Execution quality by size bucket", p["by_size_bucket"]))
    if p["venues"]:
        parts.append("<h3>Execution venues (RTS 28 style, by volume)</h3>")
        parts.append(
            _table(
                ("venue", "shares", "% of volume", "% of orders", "% passive", "% aggressive"),
                [
                    (
                        v["venue"],
                        v["shares"],
                        *(
                            None if v[f] is None else 100 * v[f]
                            for f in (
                                "volume_share",
                                "orders_share",
                                "passive_share",
                                "aggressive_share",
                            )
                        ),
                    )
                    for v in p["venues"]
                ],
            )
        )
    q = p["price_improvement"]
    if q:
        parts.append("<h3>Price improvement and spreads (Rule 605 style)</h3>")
        parts.append(
            _table(
                (
                    "shares with quotes",
                    "% improved",
                    "% at the quote",
                    "% outside",
                    "improvement / improved share",
                    "improvement bps",
                    "effective spread",
                    "effective spread bps",
                    "quoted spread bps",
                ),
                [
                    (
                        q["shares"],
                        100 * q["price_improved_share"],
                        100 * q["at_quote_share"],
                        100 * q["outside_quote_share"],
                        q["improvement_per_improved_share"],
                        q["improvement_per_improved_share_bps"],
                        q["effective_spread"],
                        q["effective_spread_bps"],
                        q["quoted_spread_bps"],
                    )
                ],
            )
        )
    h = p["order_handling"]
    parts.append("<h3>Order handling (Rule 606 / 605 style)</h3>")
    parts.append(
        _table(
            ("order type", "% of orders"),
            [(k, 100 * v) for k, v in h["order_type_share"].items()],
        )
    )
    parts.append(
        _table(
            (
                "share-weighted time to execution s",
                "mean time to first fill s",
                "fully filled orders %",
            ),
            [
                (
                    h["time_to_execution_s"],
                    h["time_to_first_fill_mean_s"],
                    100 * h["fully_filled_share"],
                )
            ],
        )
    )
    parts.append("<h3>Orders</h3>")
    parts.append(
        _table(
            (
                "order",
                "symbol",
                "strategy",
                "type",
                "side",
                "quantity",
                "filled",
                "avg price",
                "IS vs arrival bps",
                "vs VWAP bps",
                "size bucket",
            ),
            [
                (
                    r["order_id"],
                    r["symbol"],
                    r["strategy"],
                    r["order_type"],
                    r["side"],
                    r["quantity_shares"],
                    r["filled_shares"],
                    r["average_price"],
                    r["is_vs_arrival_bps"],
                    r["vs_vwap_bps"],
                    r["size_bucket"],
                )
                for r in p["orders"]
            ],
        )
    )
    return "\n".join(parts)


def report_html(report: dict, title: str = "Best-execution report") -> str:
    """The report of `best_execution_report` as an HTML page."""
    body = "\n".join(_period(p) for p in report["periods"])
    note = (
        "IS vs arrival: signed cost against the arrival price (positive = cost), unfilled "
        "shares at the end price when known. vs VWAP: average fill price against the market's "
        "VWAP over the order's window. Price improvement: against the ask for buys, the bid "
        "for sells, at execution."
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)} (per {html.escape(report['period'])})</h1>"
        f"<p class='note'>{html.escape(note)}</p>{body}</body></html>\n"
    )
