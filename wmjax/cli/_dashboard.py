"""`wmjax dashboard [--replay FILE | --simulate] [--port P]`: live orders in the browser.

Serves the live dashboard (`wmjax.live`): each order is worked interval by interval by the
chosen strategy (or the bounded advisor) against a simulated market or a replayed LOBSTER day or
fills file, at `--speed` market seconds per second; sessions persist in `--db` (a restart
resumes them), metrics are at /metrics. With --run-for-s it stops after that many seconds and
prints a table of the orders (or one JSON object with --json).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from wmjax._checks import InputError, positive, positive_int
from wmjax.cli._common import add_json_flag, fmt, print_json, print_table


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "dashboard",
        help="live execution dashboard in the browser (simulated or replayed orders)",
        description="Serve the live execution dashboard: IS so far against the pre-trade "
        "p5-p95 band, prices, participation against its ceiling, regime and advisor tier, "
        "alerts; Prometheus metrics at /metrics. EXECUTION_ADVISOR_ENABLED=false makes every "
        "order use the limits' baseline policy.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--simulate", action="store_true", help="simulated market (the default)")
    src.add_argument("--replay", metavar="FILE", help="LOBSTER message file or fills CSV")
    p.add_argument("--port", type=int, default=8050, help="port (0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--sessions", type=int, default=1, help="orders to start (simulated: seeds)")
    p.add_argument(
        "--strategy", default="twap", help="twap|vwap|ac_optimal|aggressive|pov_X|advisor"
    )
    p.add_argument("--quantity", type=float, default=20_000.0, help="shares of the parent order")
    p.add_argument("--side", choices=("buy", "sell"), default="buy")
    p.add_argument("--steps", type=int, default=30, help="decision intervals")
    p.add_argument("--horizon-s", type=float, default=1800.0, help="order horizon, market s")
    p.add_argument("--speed", type=float, default=60.0, help="market seconds per wall second")
    p.add_argument("--band-paths", type=int, default=512, help="paths of the pre-trade band")
    p.add_argument("--limits", help="execution_limits_v1 JSON policy file (default: built in)")
    p.add_argument("--db", default="wmjax-out/dashboard.sqlite", help="session store (SQLite)")
    p.add_argument(
        "--risk-budget-bps",
        type=float,
        default=25.0,
        help="desk risk layer: each order's IS risk budget, bps (participation tightens as used)",
    )
    p.add_argument(
        "--max-position-shares",
        type=float,
        default=1e6,
        help="desk risk layer: position limit, shares",
    )
    p.add_argument("--run-for-s", type=float, default=None, help="stop after this many seconds")
    add_json_flag(p)
    p.set_defaults(run=run)


def _configs(args) -> list:
    from wmjax.live import SessionConfig

    n = positive_int("--sessions", args.sessions)
    limits = None
    if args.limits:
        path = Path(args.limits)
        try:
            limits = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"--limits {path}: {e}") from None
    return [
        SessionConfig(
            symbol=f"SIM{i + 1}" if args.replay is None else "SIM",
            strategy=args.strategy,
            quantity_shares=args.quantity,
            side=args.side,
            n_steps=args.steps,
            horizon_s=args.horizon_s,
            speed=args.speed,
            seed=i,
            replay=args.replay,
            band_paths=args.band_paths,
            limits=None if limits is None else json.dumps(limits, sort_keys=True),
        )
        for i in range(n)
    ]


def run(args) -> int:
    from wmjax.desk import RiskLimits
    from wmjax.live import desk_controls, make_feed
    from wmjax.live._server import BackgroundServer

    configs = _configs(args)
    controls = desk_controls(
        RiskLimits(
            is_risk_budget_bps=float(positive("--risk-budget-bps", args.risk_budget_bps)),
            max_position_shares=float(positive("--max-position-shares", args.max_position_shares)),
        )
    )
    make_feed(configs[0])  # bad --replay files fail here, before the server starts
    if args.run_for_s is None:
        import uvicorn

        from wmjax.live._server import Hub, SessionStore, build_app

        app = build_app(Hub(SessionStore(args.db), controls), configs)
        print(f"wmjax dashboard on http://{args.host}:{args.port}  (Ctrl-C stops)")
        uvicorn.run(
            app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=1
        )
        return 0
    seconds = float(positive("--run-for-s", args.run_for_s))
    with BackgroundServer(
        args.db, configs, port=args.port, host=args.host, controls=controls
    ) as srv:
        if not args.json:
            print(f"wmjax dashboard on {srv.url} for {seconds:g} s")
        time.sleep(seconds)
        hub = srv.hub
        rows = []
        for sid, session in hub.live.items():
            rows.append(
                {
                    "id": sid,
                    "symbol": session.feed.symbol,
                    "strategy": session.strategy,
                    "status": hub.status[sid],
                    "intervals": session.k,
                    "filled_shares": session.filled,
                    "is_bps": session.is_so_far_bps,
                    "alerts": sorted(session.alerts.active),
                }
            )
        out = {"url": srv.url, "db": str(args.db), "orders": rows}
    if args.json:
        print_json(out)
        return 0
    print_table(
        "live orders",
        ["id", "symbol", "strategy", "status", "intervals", "filled", "IS so far (bps)", "alerts"],
        [
            [
                r["id"],
                r["symbol"],
                r["strategy"],
                r["status"],
                r["intervals"],
                fmt(r["filled_shares"]),
                fmt(r["is_bps"]),
                ", ".join(r["alerts"]) or "-",
            ]
            for r in rows
        ],
    )
    return 0
