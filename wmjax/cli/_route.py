"""`wmjax route`: dark-pool routing compared on held-out venue sets (lit-only, uniform,
Ganchev et al.'s greedy on Kaplan-Meier tails, the Laruelle-Lehalle-Pages split, the learned
router), IS with paired SEs, and the learned router's fill-rate predictions against realised."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np

from wmjax._checks import positive, positive_int
from wmjax.cli._common import (
    add_json_flag,
    default_out,
    out_dir,
    print_json,
    print_table,
    progress,
    save_figure,
)

FILL_TOLERANCE = 0.15


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "route",
        help="compare dark-pool routers (greedy KM, SA split, learned) on simulated venues",
        description=(
            "Train the learned dark-pool router on simulated venue sets (a lit market plus N "
            "dark pools with censored fills, price improvement and adverse selection), then run "
            "lit-only, uniform, greedy Kaplan-Meier, the stochastic-approximation split and the "
            "learned router inside a TWAP execution on held-out venue sets, same paths."
        ),
    )
    p.add_argument("--venues", type=int, default=3, help="dark pools per venue set")
    p.add_argument("--train-sets", type=int, default=128, help="simulated training venue sets")
    p.add_argument("--eval-sets", type=int, default=16, help="held-out venue sets")
    p.add_argument("--updates", type=int, default=400, help="training steps (Adam)")
    p.add_argument("--paths", type=int, default=256, help="evaluation paths per venue set")
    p.add_argument("--explore-rounds", type=int, default=300, help="censored fill records")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=default_out("route"), help="folder for the PNG")
    add_json_flag(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from wmjax.models import RouteScenario, route_comparison

    scenario = RouteScenario(
        n_venues=positive_int("--venues", args.venues),
        train_sets=positive_int("--train-sets", args.train_sets),
        eval_sets=positive_int("--eval-sets", args.eval_sets),
        n_updates=positive_int("--updates", args.updates),
        eval_paths=positive_int("--paths", args.paths, minimum=2),
        explore_rounds=positive_int("--explore-rounds", args.explore_rounds),
    )
    positive("--seed", args.seed, allow_zero=True)
    folder = out_dir("--out", args.out)  # checked (and created) before the training, not after
    start = time.perf_counter()
    with progress(not args.json) as bar:
        task = bar.add_task(f"training the router ({scenario.n_venues} pools)", total=None)
        out = route_comparison(
            jax.random.key(args.seed),
            scenario,
            callback=lambda i, loss: bar.update(task, completed=i + 1, total=scenario.n_updates),
        )
    seconds = time.perf_counter() - start
    fills = {name: _fill_summary(fp) for name, fp in out["fill_prediction"].items()}
    png = _figure(out, folder / f"route_{scenario.n_venues}_venues.png")
    summary = {
        "routers": out["routers"],
        "fill_prediction": fills,
        "pools": _pool_rows(out),
        "eval_paths": out["eval_paths"],
        "train_seconds": out["train_seconds"],
        "seconds": seconds,
        "plot": str(png),
    }
    if args.json:
        print_json(summary)
        return 0
    rows = [
        [name, r["mean_is_bps"], r["std_is_bps"], r["gain_vs_lit_bps"], r["gain_vs_lit_se"],
         r["gain_vs_uniform_bps"], r["gain_vs_uniform_se"], r["dark_fill_rate"]]
        for name, r in out["routers"].items()
    ]  # fmt: skip
    print_table(
        f"Routing a TWAP order over {scenario.n_venues} dark pools + lit "
        f"({scenario.eval_sets} held-out venue sets x {scenario.eval_paths} paths)",
        ["router", "mean IS bps", "std", "gain vs lit", "SE", "gain vs uniform", "SE",
         "dark fill rate"],
        rows,
    )  # fmt: skip
    print_table(
        "Predicted vs realised dark fill rate per held-out pool (relative error)",
        ["predictor", "mean", "median", f"share within {FILL_TOLERANCE:.0%}", "max", "pools",
         "max SE/realised"],
        [[n, f["mean_relative_error"], f["median_relative_error"], f["share_within"],
          f["max_relative_error"], f["pools"], f["realised_relative_se_max"]]
         for n, f in fills.items()],
    )  # fmt: skip
    print(f"{out['eval_paths']} paths per router; {seconds:.1f} s in all; plot {png}")
    return 0


def _pool_rows(out: dict) -> list[dict]:
    """One row per judged held-out pool: the realised rate and its SE, each predictor's rate,
    and the records at risk at the size the learned router sent."""
    fp = out["fill_prediction"]
    learned = fp["learned"]
    rows = []
    for b, k in zip(*np.nonzero(learned["used"]), strict=True):
        row = {"venue_set": int(b), "pool": int(k),
               "realised_rate": float(learned["realised_rate"][b, k]),
               "realised_rate_se": float(learned["realised_rate_se"][b, k]),
               "at_risk_at_size": int(out["at_risk_at_size"][b, k])}  # fmt: skip
        for name in ("learned", "kaplan_meier", "true_tails"):
            row[f"predicted_{name}"] = float(fp[name]["predicted_rate"][b, k])
        rows.append(row)
    return rows


def _fill_summary(fp: dict) -> dict:
    err = fp["relative_error"][fp["used"]]
    rel_se = (fp["realised_rate_se"] / np.maximum(fp["realised_rate"], 1e-9))[fp["used"]]
    return {
        "realised_relative_se_max": float(rel_se.max()),
        "mean_relative_error": float(err.mean()),
        "median_relative_error": float(np.median(err)),
        "share_within": float(np.mean(err <= FILL_TOLERANCE)),
        "max_relative_error": float(err.max()),
        "pools": int(err.size),
    }


def _figure(out: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    losses = np.asarray(out["losses"])
    w = max(losses.size // 20, 1)
    ax1.plot(np.convolve(losses, np.ones(w) / w, "valid"))
    ax1.set_xlabel("training step")
    ax1.set_ylabel(f"IS bps + prediction losses (moving average {w})")
    for name, fp in out["fill_prediction"].items():
        used = fp["used"]
        ax2.scatter(fp["realised_rate"][used], fp["predicted_rate"][used], s=12, label=name)
    ax2.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax2.set_xlabel("realised dark fill rate (held-out pool)")
    ax2.set_ylabel("predicted")
    ax2.legend()
    return save_figure(fig, path)
