"""`wmjax worldmodel fit`: train the order-book world model on a LOBSTER day split in time and
score it on the held-out part beside the simple baselines (optionally on another ticker too)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from wmjax._checks import InputError, positive_int
from wmjax.cli._common import (
    add_json_flag,
    default_out,
    out_dir,
    print_json,
    print_table,
    progress,
    save_figure,
)

TEST_HOURS_DEFAULT_S = 7200.0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "worldmodel",
        help="world models of the order book (flax): fit and evaluate on LOBSTER data",
        description="World models of the order book: encoder, GRU tick dynamics, order-flow "
        "price model and placement policy, trained jointly on a LOBSTER day.",
    )
    sub = p.add_subparsers(dest="worldmodel_command", required=True, metavar="ACTION")
    f = sub.add_parser(
        "fit",
        help="train before --test-start, evaluate after it, beside the baselines",
        description=(
            "Train on the part of the day before --test-start (default: the last 2 hours are "
            "test) and report, on the test part, the Gaussian NLL of the 10 s mid change beside "
            "the unconditional, EWMA(0.94) and OFI-nowcast baselines, and macro-F1 of raw-sign "
            "directions at k events beside a softmax regression on six hand features (both "
            "with the plain argmax and with class offsets tuned for macro-F1 on the validation "
            "slice at the end of the training period)."
        ),
    )
    f.add_argument("messages", help="LOBSTER message file")
    f.add_argument("--orderbook", required=True, help="the matching LOBSTER order-book file")
    f.add_argument("--test-start", default=None, help="HH:MM (exchange time) where test begins")
    f.add_argument("--epochs", type=int, default=6, help="passes (validation picks one)")
    f.add_argument("--levels", type=int, default=None, help="book levels to use (default: all)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument(
        "--transfer",
        nargs=2,
        metavar=("MESSAGES", "ORDERBOOK"),
        help="also evaluate, without refitting, on another LOBSTER pair (all of it is test)",
    )
    f.add_argument("--out", default=default_out("worldmodel"), help="folder for checkpoint and PNG")
    add_json_flag(f)
    f.set_defaults(run=run_fit)


def _clock_s(text: str) -> float:
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise InputError(f"--test-start: expected HH:MM, got {text!r}") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise InputError(f"--test-start: {text!r} is not a time of day (HH:MM)")
    return 3600.0 * h + 60.0 * m


def run_fit(args) -> int:
    from wmjax.data import load_lobster
    from wmjax.features import stream_from_lobster
    from wmjax.models import (
        WorldDataConfig,
        calibrate_direction_heads,
        calibrate_price_head,
        evaluate_world_model,
        fit_world_model,
        ofi_nowcast_r2,
        prepare_world_data,
        save_world_model,
    )

    epochs = positive_int("--epochs", args.epochs)
    levels = None if args.levels is None else positive_int("--levels", args.levels)
    out = out_dir("--out", args.out)  # before the reading and training
    import jax

    with progress(not args.json) as bar:
        bar.add_task("reading and computing features", total=None)
        data = load_lobster(args.messages, args.orderbook)
        stream = stream_from_lobster(data, levels)
        times = data.times_s
        test_start = (
            times[-1] - TEST_HOURS_DEFAULT_S
            if args.test_start is None
            else _clock_s(args.test_start)
        )
        if not times[0] < test_start <= times[-1]:
            raise InputError(
                f"--test-start {args.test_start}: the data run from {_hhmm(times[0])} to "
                f"{_hhmm(times[-1])}; pick a time inside"
            )
        config = WorldDataConfig()
        prep = prepare_world_data(stream, config, test_start)
        task = bar.add_task("training", total=epochs)
        fit = fit_world_model(
            jax.random.key(args.seed), prep.data, prep.normalizer, prep.fit_rows, config,
            epochs=epochs, val_rows=prep.val_rows,
            callback=lambda e, s, loss: bar.update(task, completed=e + 1),
        )  # fmt: skip
        bar.add_task("evaluating", total=None)
        start = time.perf_counter()
        fit = calibrate_direction_heads(calibrate_price_head(fit, prep), prep)
        test = evaluate_world_model(fit, prep)
        _, r2 = ofi_nowcast_r2(prep)
        transfer = None
        if args.transfer:
            other = load_lobster(*args.transfer)
            o_stream = stream_from_lobster(other, stream.levels)
            o_prep = prepare_world_data(
                o_stream, config, float(other.times_s[0]), normalizer=fit.normalizer
            )
            transfer = evaluate_world_model(fit, o_prep, baseline_prep=prep)
            transfer["rows"] = other.rows
            transfer["span_s"] = float(other.times_s[-1] - other.times_s[0])
        eval_s = time.perf_counter() - start
    ckpt = save_world_model(out / "world_model.msgpack", fit)
    png = _learning_curve(fit.losses, fit.val_losses, out / "world_model_learning.png")
    summary = {
        "test": test,
        "train_seconds": fit.seconds,
        "compile_seconds": fit.compile_seconds,
        "train_samples_per_s": fit.samples_per_s,
        "eval_seconds": eval_s,
        "epochs": epochs,
        "n_train_rows": int(prep.fit_rows.size),
        "test_start_s": float(test_start),
        "split_gap_s": float(prep.split.gap_s),
        "ofi_nowcast_r2_mean": r2,
        "losses": fit.losses,
        "val_losses": fit.val_losses,
        "val_direction_losses": fit.val_direction_losses,
        "val_direction_loss_untrained": fit.val_direction_loss_untrained,
        "best_epoch": fit.best_epoch,
        "best_price_epoch": fit.best_price_epoch,
        "price_calibration": {
            "mean_shrink": fit.price_calibration[0],
            "variance_scale": fit.price_calibration[1],
        },
        "n_validation_rows": int(prep.val_rows.size),
        "checkpoint": str(ckpt),
        "learning_curve_png": str(png),
    }
    if transfer is not None:
        summary["transfer"] = transfer
    if args.json:
        print_json(summary)
        return 0
    _print_report("test", test, test_start)
    if transfer is not None:
        _print_report(f"transfer to {Path(args.transfer[0]).name}", transfer, None)
    print(
        f"trained {epochs} epochs on {prep.fit_rows.size} rows in {fit.seconds:.1f} s "
        f"(kept epoch {fit.best_epoch + 1} by the direction loss and {fit.best_price_epoch + 1} "
        f"for the order-flow model by the price NLL on {prep.val_rows.size} validation rows; "
        "epoch 0: untrained, i.e. the softmax baseline / the EWMA prior) "
        f"(compile {fit.compile_seconds:.1f} s, {fit.samples_per_s:.0f} sequences/s); "
        f"OFI nowcast mean R^2 per half hour {r2:.3f}; checkpoint {ckpt}; learning curve {png}"
    )
    return 0


def _hhmm(t_s: float) -> str:
    return f"{int(t_s // 3600):02d}:{int(t_s % 3600 // 60):02d}"


def _print_report(name: str, r: dict, test_start) -> None:
    when = f" from {_hhmm(test_start)}" if test_start is not None else ""
    print_table(
        f"10 s mid change, Gaussian NLL (nats), {r['n_test']} test intervals{when}",
        ["model", "NLL"],
        [
            ["world model (order-flow head)", r["nll_10s"]],
            ["unconditional N(mean, var)", r["nll_unconditional"]],
            ["EWMA(0.94) variance", r["nll_ewma"]],
            ["OFI nowcast (ceiling, uses the interval's own flow)", r["nll_nowcast"]],
        ],
    )
    for k, d in r["nll_10s_minus"].items():
        print(
            f"world model minus {k}: {d['mean']:+.4f} nats per interval, paired SE "
            f"{d['se']:.4f} (5-minute blocks: {d['se_blocks']:.4f})"
        )
    print_table(
        f"Raw-sign direction macro-F1, {r['n_test_events']} test events ({name}); offsets: "
        "class offsets tuned for macro-F1 on the validation slice",
        ["k events", "world model, offsets", "softmax (6 features), offsets",
         "world model, argmax", "softmax, argmax", "down/flat/up"],
        [
            [k, r["macro_f1_raw"][k], r["macro_f1_raw_softmax6"][k],
             r["macro_f1_raw_argmax"][k], r["macro_f1_raw_softmax6_argmax"][k],
             "/".join(f"{x:.2f}" for x in r["class_balance_raw"][k])]
            for k in r["macro_f1_raw"]
        ],
    )  # fmt: skip
    print_table(
        "Smoothed labels (DeepLOB style): only beside the one-feature baseline",
        ["k events", "softmax (6 features)", "mid minus past mean (1 feature)", "down/flat/up"],
        [
            [k, v["f1_softmax6"], v["f1_one_feature_past_mean"],
             "/".join(f"{x:.2f}" for x in v["class_balance"])]
            for k, v in r["smoothed"].items()
        ],
    )  # fmt: skip


def _learning_curve(losses, val_losses, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    losses = np.asarray(losses)
    ax.plot(np.arange(1, losses.size + 1), losses, marker="o", label="training (epoch mean)")
    if len(val_losses):
        ax.plot(np.arange(1, len(val_losses) + 1), val_losses, marker="s", label="validation")
    ax.legend()
    ax.set_xlabel("epoch")
    ax.set_ylabel("joint training loss (mean over the epoch)")
    ax.set_title("world model learning curve")
    return save_figure(fig, path)
