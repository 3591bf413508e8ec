"""`wmjax advise`: bounded execution advice from a microstructure state and a limits file."""

from __future__ import annotations

from pathlib import Path

from wmjax.cli._common import add_json_flag, print_json, print_table


def _read_json(path: Path, what: str):
    import json

    from wmjax._checks import InputError

    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{what} {path} is not valid JSON: {err}") from err


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "advise",
        help="bounded execution advice for the next child orders from a microstructure state",
        description=(
            "Read a microstructure_state_v1 JSON and an execution_limits_v1 policy file; "
            "evaluate candidate participation rates, order types and quote offsets on paths of "
            "a market calibrated to the state; intersect the best with the limits and the "
            "regime controller's budget; print execution_advice_v1. A missing or stale state "
            "gives the policy's baseline with the reason; --memory keeps the hysteresis "
            "between calls."
        ),
    )
    p.add_argument("state", help="microstructure_state_v1 JSON (a missing file: baseline)")
    p.add_argument("--policy", required=True, help="execution_limits_v1 JSON (the limits)")
    p.add_argument("--now", default=None, help="current time, ISO 8601 (default: the clock)")
    p.add_argument("--memory", default=None, help="JSON file read and updated (hysteresis)")
    p.add_argument("--side", default="buy", help="the parent order's side (buy)")
    p.add_argument("--target-participation", type=float, default=0.1, help="schedule rate")
    p.add_argument("--adv-usd", type=float, default=5e8, help="average daily value, USD")
    p.add_argument("--volatility", type=float, default=0.02, help="daily volatility (0.02)")
    p.add_argument("--paths", type=int, default=256, help="paths per candidate (256)")
    p.add_argument("--seed", type=int, default=0)
    add_json_flag(p)
    p.set_defaults(run=run_advise)


def run_advise(args) -> int:
    import jax

    from wmjax._checks import InputError
    from wmjax.analytics import AdvisorConfig, AdvisorMemory, advise
    from wmjax.analytics._schema import parse_timestamp

    side = args.side.lower()
    if side not in ("buy", "sell"):
        raise InputError(f'--side must be "buy" or "sell", got {args.side!r}')
    config = AdvisorConfig(
        side=1.0 if side == "buy" else -1.0,
        target_participation=args.target_participation,
        adv_usd=args.adv_usd,
        daily_volatility=args.volatility,
        n_paths=args.paths,
    )
    policy_path = Path(args.policy)
    if not policy_path.is_file():
        raise InputError(f"--policy {policy_path} does not exist")
    limits = _read_json(policy_path, "policy")
    state_path = Path(args.state)
    state = _read_json(state_path, "state") if state_path.is_file() else None
    memory = None
    if args.memory and Path(args.memory).is_file():
        memory = AdvisorMemory.from_dict(_read_json(Path(args.memory), "memory"))
    now = None if args.now is None else parse_timestamp(args.now, "--now")
    advice, memory = advise(
        state, limits, now=now, memory=memory, key=jax.random.key(args.seed), config=config
    )
    if args.memory:
        import json

        Path(args.memory).write_text(json.dumps(memory.to_dict()))
    if args.json:
        print_json(advice)
        return 0
    prov = advice["provenance"]
    print_table(
        f"Execution advice for {advice['symbol'] or '(no state)'}",
        ["field", "value"],
        [
            ("urgency tier", advice["urgency_tier"]),
            ("max participation rate", advice["max_participation_rate"]),
            ("preferred order type", advice["preferred_order_type"]),
            ("quote offset bps", advice["quote_offset_bps"]),
            ("adverse selection risk", advice["adverse_selection_risk"]),
            ("regime", prov["regime"]),
            ("fallback", prov["fallback_reason"] or "no"),
            ("override", "; ".join(prov["override_reasons"]) or "no"),
            ("simulator", prov["simulator_version"]),
        ],
    )
    return 0
