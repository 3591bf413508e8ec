"""`wmjax verify-advisor`: the advisor's verification plan on a LOBSTER day (offline replay,
paper split-book, promotion criteria)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from wmjax._checks import InputError, positive_int
from wmjax.cli._common import (
    add_json_flag,
    load_lobster_day,
    print_json,
    print_table,
    progress,
    provenance,
)

_LOBSTER_NAME = re.compile(r"^([A-Za-z.]+)_(\d{4}-\d{2}-\d{2})_")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify-advisor",
        help="offline replay and paper split-book of the advisor vs the baseline; promotion table",
        description=(
            "Build a microstructure_state_v1 every --step-s seconds from a LOBSTER day; run the "
            "policy's baseline and the bounded advisor (each through the kill switch "
            "EXECUTION_ADVISOR_ENABLED and the desk's risk layer) on the same snapshots and the "
            "same paths (the day's mid path after each snapshot, shared passive-fill uniforms); "
            "print slippage and shortfall deltas with SEs, fill rates and tails, a paper "
            "split-book of parent orders alternately assigned, and the promotion criteria."
        ),
    )
    p.add_argument("--market", required=True, help="LOBSTER message file of the day")
    p.add_argument("--orderbook", default=None, help="its order-book file (default: by name)")
    p.add_argument("--symbol", default=None, help="symbol (default: from the file name)")
    p.add_argument("--date", default=None, help="YYYY-MM-DD (default: from the file name)")
    p.add_argument("--policy", default=None, help="execution_limits_v1 JSON (default: built in)")
    p.add_argument("--step-s", type=float, default=60.0, help="seconds between snapshots")
    p.add_argument("--interval-s", type=float, default=60.0, help="decision interval, s")
    p.add_argument("--order-snapshots", type=int, default=30, help="snapshots per paper order")
    p.add_argument("--side", default="buy", help="the parent orders' side: buy or sell")
    p.add_argument("--target-participation", type=float, default=0.1, help="schedule rate")
    p.add_argument("--adv-usd", type=float, default=None, help="default: the day's traded value")
    p.add_argument("--volatility", type=float, default=0.02, help="daily volatility, fraction")
    p.add_argument("--paths", type=int, default=64, help="advisor paths per candidate")
    p.add_argument("--risk-budget-bps", type=float, default=25.0, help="execution risk budget")
    p.add_argument("--max-position", type=float, default=1e6, help="position limit, shares")
    p.add_argument("--incident-bps", type=float, default=20.0, help="slice cost = incident")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    add_json_flag(p)
    p.set_defaults(run=run_verify)


def _day_and_symbol(args) -> tuple[str, date]:
    m = _LOBSTER_NAME.match(Path(args.market).name)
    symbol = args.symbol or (m.group(1) if m else None)
    text = args.date or (m.group(2) if m else None)
    if symbol is None or text is None:
        raise InputError(f"--market {args.market}: pass --symbol and --date (not in the name)")
    try:
        return symbol, date.fromisoformat(text)
    except ValueError as err:
        raise InputError(f"--date {text!r} is not YYYY-MM-DD") from err


def run_verify(args) -> int:
    from wmjax.analytics import AdvisorConfig, validate
    from wmjax.desk import (
        DEFAULT_POLICY,
        RiskLimits,
        SnapshotConfig,
        VerifyConfig,
        advisor_enabled,
        daily_value_usd,
        lobster_snapshots,
        verify_advisor,
    )

    side = {"buy": 1.0, "sell": -1.0}.get(args.side.lower())
    if side is None:
        raise InputError(f'--side must be "buy" or "sell", got {args.side!r}')
    positive_int("--paths", args.paths, minimum=2)
    symbol, day = _day_and_symbol(args)
    policy = DEFAULT_POLICY
    if args.policy:
        path = Path(args.policy)
        if not path.is_file():
            raise InputError(f"--policy {path} does not exist")
        try:
            policy = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise InputError(f"--policy {path} is not valid JSON: {err}") from err
    validate(policy, "execution_limits_v1", "policy")
    enabled = advisor_enabled()
    with progress(not args.json) as bar:
        task = bar.add_task("building snapshots from the book", total=2)
        data = load_lobster_day(args.market, args.orderbook)
        snaps = lobster_snapshots(
            data,
            symbol,
            day,
            SnapshotConfig(step_s=args.step_s, interval_s=args.interval_s, side=side),
        )
        bar.advance(task)
        bar.update(task, description=f"replaying {len(snaps)} snapshots, both arms")
        adv_usd = daily_value_usd(data) if args.adv_usd is None else args.adv_usd
        advisor = AdvisorConfig(
            side=side,
            target_participation=args.target_participation,
            adv_usd=adv_usd,
            daily_volatility=args.volatility,
            interval_s=args.interval_s,
            n_paths=args.paths,
        )
        limits = RiskLimits(
            max_position_shares=args.max_position, is_risk_budget_bps=args.risk_budget_bps
        )
        out = verify_advisor(
            snaps,
            policy,
            limits,
            advisor,
            VerifyConfig(
                order_snapshots=args.order_snapshots,
                incident_bps=args.incident_bps,
                seed=args.seed,
            ),
            enabled=enabled,
        )
        bar.advance(task)
    out["symbol"], out["date"], out["adv_usd"] = symbol, day.isoformat(), adv_usd
    out["run"] = provenance(args, [args.market])
    if args.json:
        print_json(out)
        return 0
    _print(out)
    return 0


def _print(out: dict) -> None:
    arms = out["replay"]["arms"]
    d = out["replay"]["deltas"]
    print_table(
        f"Offline replay, {out['symbol']} {out['date']}: {out['snapshots']} snapshots every "
        f"{out['step_s']:g} s, same paths for both arms (advisor enabled: "
        f"{out['advisor_enabled']})",
        [
            "arm",
            "slippage bps",
            "± SE",
            "p95 bps",
            "CVaR95 bps",
            "shortfall $",
            "passive fill",
            "completion",
            "incidents",
        ],
        [
            (
                name,
                a["slippage_mean_bps"],
                a["slippage_se_bps"],
                a["p95_bps"],
                a["cvar95_bps"],
                a["shortfall_usd"],
                "-" if a["passive_fill_rate"] is None else a["passive_fill_rate"],
                a["completion"],
                a["tail_incidents"],
            )
            for name, a in arms.items()
        ]
        + [
            (
                "advisor - baseline",
                d["slippage_delta_bps"],
                d["slippage_delta_se_bps"],
                d["p95_delta_bps"],
                "-",
                d["shortfall_delta_usd"],
                "-",
                "-",
                "-",
            ),
        ],
    )
    s = out["split_book"]
    print_table(
        f"Paper split-book: {s['orders']} parent orders of {s['order_snapshots']} snapshots, "
        "alternately assigned",
        ["estimate", "delta IS bps", "± SE"],
        [
            (
                "split (own orders, Welch)",
                s["split_delta_bps"] if s["split_delta_bps"] is not None else "-",
                s["split_delta_se_bps"],
            ),
            ("paired (CRN, every order)", s["paired_delta_bps"], s["paired_delta_se_bps"]),
        ],
    )
    print_table(
        "Promotion criteria",
        ["criterion", "measured", "threshold", "passed"],
        [
            (c["criterion"], c["measured"], c["threshold"], "PASS" if c["passed"] else "FAIL")
            for c in out["criteria"]
        ],
    )
    print("promote:", "yes" if out["promote"] else "no")
