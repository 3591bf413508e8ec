"""Which Hawkes model does real order flow not reject? Out-of-sample comparison on AMZN
executions (LOBSTER, 2012-06-21) and on TAQ trades (five days: fit on four, test on the fifth).

Data: market orders split by aggressor side (mark 0 buyer-, 1 seller-initiated). LOBSTER: the
sweep rule of `wmjax.data.trades_from_lobster`; one day, cut into blocks (--block-s, 30 min)
fitted on the even blocks and scored on the odd ones. TAQ: `wmjax.data.load_taq` (Lee-Ready
signs against the NBBO, same-millisecond same-sign prints merged, times jittered within the
millisecond with seed 0); days 1-4 fit, day 5 scored. Every block or day is a segment started
empty (no excitation carried across), so no test event ever enters a fit.

Models (`wmjax.hawkes.HawkesModel`): Poisson; one exponential per pair (decays free, the
classic model); a sum of 3 exponentials with shared decays; a power law approximated by 10
exponentials on a fixed geometric grid (1,000/s to 0.001/s) with only the weights fitted; each
with a constant or piecewise-constant baseline ("+tv": half-hour pieces over the day for TAQ,
--pieces equal pieces for LOBSTER) and with size marks ("+marks": excitation x size^eta).
Reported: training log-likelihood, AIC, BIC, held-out log-likelihood per event, and on the
held-out data the time-rescaling KS statistic and p-value per dimension; a residual QQ plot
PNG per data set. Writes hawkes_real_data.json and the PNGs to --out.

    python experiments/hawkes_real_data.py --out out/hawkes_real_data      # AMZN full day, IBM
    python experiments/hawkes_real_data.py --taq ../shared/data/taq/bac --lobster none
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

import wmjax.hawkes as hk
from wmjax.calibrate import fit_hawkes_model, score_hawkes_model
from wmjax.cli._common import print_table, save_figure
from wmjax.data import TAQ_SESSION_S, load_lobster, load_taq, trades_from_lobster

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
LOBSTER_DAY = (
    ROOT.parent / "shared" / "data" / "lobster" / "AMZN_2012-06-21_34200000_57600000_message_1.csv"
)
TAQ_IBM = ROOT.parent / "shared" / "data" / "taq" / "ibm"
POWER_LAW_GRID = hk.power_law_decays(10, 1_000.0, 0.001)
ALL_MODELS = (
    "poisson",
    "poisson+tv",
    "exp",
    "exp+tv",
    "sumexp",
    "sumexp+tv",
    "sumexp+tv+marks",
    "powerlaw",
    "powerlaw+tv",
    "powerlaw+tv+marks",
)


def _model(name: str, breaks: tuple) -> hk.HawkesModel:
    kernel, *extras = name.split("+")
    kw = {
        "poisson": dict(n_exp=0),
        "exp": dict(n_exp=1, decays="free"),
        "sumexp": dict(n_exp=3, decays="shared"),
        "powerlaw": dict(n_exp=len(POWER_LAW_GRID), decays="fixed", fixed_decays=POWER_LAW_GRID),
    }[kernel]
    return hk.HawkesModel(
        dim=2, breaks_s=breaks if "tv" in extras else (), marks="marks" in extras, **kw
    )


def _warm_start(fit, model: hk.HawkesModel):
    """A nested model's fit as the start of its extension (+tv: the constant mu in every piece;
    +marks: eta = 0), so the extension's optimum is at least as high."""
    p = fit.params
    return hk.ModelParams(
        mu=np.repeat(p.mu[:, :1], model.n_pieces, axis=1) if p.mu.shape[1] == 1 else p.mu,
        alpha=np.maximum(p.alpha, 1e-8),
        beta=p.beta,
        eta=np.zeros(model.dim),
    )


def _lobster_segments(path: Path, block_s: float, minutes: float | None):
    data = load_lobster(path)
    times, marks, sizes = trades_from_lobster(data)
    start = float(data.times_s[0])
    end = float(data.times_s[-1]) if minutes is None else start + 60 * minutes
    clock = times + start
    keep = clock <= end
    clock, marks, sizes = clock[keep], marks[keep], sizes[keep]
    edges = np.append(np.arange(start, end, block_s), end)
    train, test = [], []
    for k in range(edges.size - 1):
        lo, hi = edges[k], edges[k + 1]
        inside = (clock >= lo) & (clock < hi)
        seg = dict(
            times_s=clock[inside], marks=marks[inside], sizes=sizes[inside], start_s=lo, end_s=hi
        )
        (train if k % 2 == 0 else test).append(seg)
    return train, test, (start, end)


def _taq_segments(folder: Path, minutes: float | None):
    days = load_taq(folder)
    start, end = TAQ_SESSION_S
    end = end if minutes is None else start + 60 * minutes
    segs = []
    for day in days:
        inside = day.times_s < end
        segs.append(
            dict(
                times_s=day.times_s[inside],
                marks=(day.sign[inside] < 0).astype(np.int32),
                sizes=day.size_shares[inside],
                start_s=start,
                end_s=end,
            )
        )
    return segs[:-1], segs[-1:], (start, end), [d.day for d in days]


def _with_log_size(segs, reference: float):
    return [
        {**{k: v for k, v in s.items() if k != "sizes"}, "log_size": np.log(s["sizes"] / reference)}
        for s in segs
    ]


def _ks(residuals) -> tuple[list, list]:
    stats = [hk.ks_exponential(r) for r in residuals]
    return [s for s, _ in stats], [p for _, p in stats]


def compare(train, test, breaks, names, args, save=None) -> tuple[dict, dict]:
    """Fit every model on `train`, score it on `test`; (results, residuals for the QQ plot).
    `save(block)` is called after each model, so a long run keeps what it finished."""
    reference = float(np.exp(np.mean(np.log(np.concatenate([s["sizes"] for s in train])))))
    train_data = hk.segment_events(_with_log_size(train, reference), 2)
    test_data = hk.segment_events(_with_log_size(test, reference), 2)
    meta = {
        "n_train": train_data.n_events,
        "n_test": test_data.n_events,
        "reference_size": reference,
    }
    fits, results, residuals = {}, {}, {}
    for name in names:
        model = _model(name, breaks)
        parent = name.rsplit("+", 1)[0] if "+" in name else None
        init = _warm_start(fits[parent], model) if parent in fits else None
        began = time.perf_counter()
        fit = fit_hawkes_model(
            model,
            train_data,
            init=init,
            n_starts=args.starts,
            max_iter=args.max_iter,
            std_errors=args.std_errors,
        )
        seconds = time.perf_counter() - began
        fits[name] = fit
        test_ll = score_hawkes_model(fit, test_data)
        with jax.enable_x64(True):
            params = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), fit.params)
            res = hk.model_residuals(params, model, test_data)
        ks_stat, ks_p = _ks(res)
        residuals[name] = res
        results[name] = {
            "n_params": fit.n_params,
            "train_log_likelihood": fit.log_likelihood,
            "aic": fit.aic,
            "bic": fit.bic,
            "test_log_likelihood": test_ll,
            "test_ll_per_event": test_ll / test_data.n_events,
            "ks_statistic": ks_stat,
            "ks_pvalue": ks_p,
            "branching_ratio": float(
                np.max(np.abs(np.linalg.eigvals(fit.params.branching_matrix())))
            ),
            "eta": fit.params.eta.tolist() if model.marks else None,
            "converged": fit.converged,
            "n_iter": fit.n_iter,
            "optima_spread": fit.optima_spread,
            "seconds": seconds,
        }
        print(
            f"  {name}: test LL/event {results[name]['test_ll_per_event']:.4f}, "
            f"KS {ks_stat}, p {ks_p}, {seconds:.1f} s",
            flush=True,
        )
        if save is not None:
            save({"meta": meta, "models": results})
    return {"meta": meta, "models": results}, residuals


def _verdict(block: dict) -> dict:
    """The best model by held-out LL per event, against the exponential."""
    models = block["models"]
    best = max(models, key=lambda n: models[n]["test_ll_per_event"])
    out = {"best": best}
    if "exp" in models:
        exp, top = models["exp"], models[best]
        out["ll_per_event_gain_over_exp"] = top["test_ll_per_event"] - exp["test_ll_per_event"]
        out["ks_smaller_than_exp"] = [
            a < b for a, b in zip(top["ks_statistic"], exp["ks_statistic"], strict=True)
        ]
        out["log10_p_short_of_1e-3"] = [
            max(0.0, -3 - np.log10(max(p, 1e-300))) for p in top["ks_pvalue"]
        ]
    return out


def _qq_plot(path: Path, title: str, residuals: dict, best: str) -> None:
    shown = [n for n in ("poisson", "exp", "sumexp", "powerlaw", best) if n in residuals]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for dim, (ax, side) in enumerate(
        zip(axes, ("buyer-initiated", "seller-initiated"), strict=True)
    ):
        for name in dict.fromkeys(shown):
            r = np.sort(residuals[name][dim])
            q = -np.log1p(-(np.arange(1, r.size + 1) - 0.5) / r.size)
            ax.plot(q, r, ".", ms=2, label=name)
        line = np.linspace(0.0, ax.get_xlim()[1], 200)  # many points: the y axis is symlog
        ax.plot(line, line, "k--", lw=1)
        ax.set(
            xlabel="Exp(1) quantile",
            ylabel="rescaled residual (held out)",
            title=f"{title}: {side}",
        )
        ax.set_yscale("symlog", linthresh=1.0)
        ax.legend(fontsize=8)
    save_figure(fig, path)


def _report(label: str, block: dict) -> None:
    rows = []
    for name, r in block["models"].items():
        rows.append(
            [
                name,
                r["n_params"],
                r["train_log_likelihood"],
                r["aic"],
                r["bic"],
                r["test_ll_per_event"],
                " / ".join(f"{s:.3f}" for s in r["ks_statistic"]),
                " / ".join(f"{p:.1e}" for p in r["ks_pvalue"]),
            ]
        )
    columns = ["model", "k", "train LL", "AIC", "BIC", "test LL/event", "KS (buy/sell)", "KS p"]
    print_table(label, columns, rows)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lobster", default=str(LOBSTER_DAY), help="LOBSTER message file, or none")
    parser.add_argument(
        "--taq", default=str(TAQ_IBM), help="Lean tick folder of one ticker, or none"
    )
    parser.add_argument(
        "--minutes", type=float, default=None, help="use only the first minutes of each session"
    )
    parser.add_argument(
        "--block-s", type=float, default=1800.0, help="LOBSTER train/test block length (s)"
    )
    parser.add_argument(
        "--pieces", type=int, default=7, help="baseline pieces over the LOBSTER session"
    )
    parser.add_argument(
        "--taq-piece-s", type=float, default=1800.0, help="TAQ baseline piece length (s)"
    )
    parser.add_argument("--models", default=",".join(ALL_MODELS))
    parser.add_argument(
        "--starts", type=int, default=3, help="L-BFGS starts per model (no warm start)"
    )
    parser.add_argument("--max-iter", type=int, default=400)
    parser.add_argument(
        "--std-errors",
        action="store_true",
        help="also compute Hessian standard errors (not reported in the table; costly)",
    )
    parser.add_argument("--out", default="out/hawkes_real_data")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.models.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"models": names, "power_law_decays_per_s": list(POWER_LAW_GRID)}
    path = out / "hawkes_real_data.json"

    def saver(source):
        def save(block):
            result[source] = block
            path.write_text(json.dumps(result, indent=1))

        return save

    if args.lobster.lower() != "none":
        train, test, (start, end) = _lobster_segments(
            Path(args.lobster), args.block_s, args.minutes
        )
        breaks = hk.session_breaks(start, end, args.pieces)
        print(f"LOBSTER {Path(args.lobster).name}: {len(train)} train / {len(test)} test blocks")
        block, residuals = compare(train, test, breaks, names, args, saver("lobster"))
        block["verdict"] = _verdict(block)
        result["lobster"] = block
        _report("LOBSTER (held-out blocks)", block)
        _qq_plot(out / "qq_lobster.png", "AMZN", residuals, block["verdict"]["best"])
    if args.taq.lower() != "none":
        train, test, (start, end), days = _taq_segments(Path(args.taq), args.minutes)
        n_pieces = max(1, round((end - start) / args.taq_piece_s))
        breaks = hk.session_breaks(start, end, n_pieces)
        print(f"TAQ {args.taq}: fit on {days[:-1]}, test on {days[-1]}")
        block, residuals = compare(train, test, breaks, names, args, saver("taq"))
        block["verdict"] = _verdict(block)
        block["meta"]["days"] = days
        result["taq"] = block
        _report(f"TAQ {Path(args.taq).name} (test day {days[-1]})", block)
        _qq_plot(
            out / "qq_taq.png", Path(args.taq).name.upper(), residuals, block["verdict"]["best"]
        )
    path.write_text(json.dumps(result, indent=1))
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
