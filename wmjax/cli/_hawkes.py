"""`wmjax hawkes simulate|fit`: simulate a multivariate Hawkes process to a `time,mark` CSV, and fit
one (MLE or NUTS posterior) to such a CSV or to the market orders in a LOBSTER message file."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import wmjax.hawkes as hk
from wmjax._checks import InputError, finite_array, positive, positive_int
from wmjax.calibrate import LateStartWarning, fit_bayes, fit_mle, late_start_gap
from wmjax.calibrate._starts import N_STARTS, fit_memory_bytes
from wmjax.cli._common import (
    add_json_flag,
    console,
    fmt,
    parse_numbers,
    print_json,
    print_table,
    progress,
    provenance,
    stderr_console,
)
from wmjax.data import (
    load_events_csv,
    load_lobster,
    lobster_session_s,
    save_events_csv,
    trades_from_lobster,
)

NUMBERS_HELP = (
    "a number, a comma list for a vector (0.1,0.2), a matrix with rows split by ';' "
    "(0.3,0.1;0.1,0.3: quote it in the shell), or a .json file holding a number, list or list "
    "of lists"
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "hawkes",
        help="simulate or fit multivariate exponential Hawkes processes",
        description="Simulate or fit multivariate Hawkes processes with exponential kernels "
        "lambda_i(t) = mu_i + sum_j alpha_ij beta_ij sum_k exp(-beta_ij (t - t_k^j)).",
    )
    sub = p.add_subparsers(dest="hawkes_command", required=True, metavar="ACTION")

    s = sub.add_parser(
        "simulate",
        help="simulate events exactly on [0, T] and write a time,mark CSV",
        description=f"Simulate exactly on [0, horizon] and write a `time,mark` CSV. --mu, --alpha "
        f"and --beta each take {NUMBERS_HELP}. beta may be a scalar shared by all kernels.",
    )
    s.add_argument("--mu", required=True, help="baseline intensities (d,) in events/s")
    s.add_argument("--alpha", required=True, help="branching matrix (d, d); a number if d = 1")
    s.add_argument("--beta", required=True, help="decays in 1/s: (d, d) or one number")
    s.add_argument("--horizon", type=float, required=True, help="T in seconds")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument(
        "--capacity", type=int, default=None, help="event buffer size (default 3 E[N(T)] + 100)"
    )
    s.add_argument("--out", required=True, help="CSV file to write (header time,mark)")
    add_json_flag(s)
    s.set_defaults(run=run_simulate)

    f = sub.add_parser(
        "fit",
        help="fit mu, alpha and beta to events (MLE with standard errors, or NUTS posterior)",
        description="Fit a Hawkes process to EVENTS: a CSV with header `time,mark` (seconds, "
        "integer marks 0..d-1), or with --lobster a LOBSTER message file, whose executions "
        "become 2-D market orders (mark 0 buyer-initiated, 1 seller-initiated; executions with "
        "the same timestamp and side are merged into one order). Without --horizon the horizon "
        "is the data's span: [0, last event] for a CSV, the session from the first to the last "
        "message for LOBSTER. Prints estimates with standard errors (or posterior summaries) "
        "and the KS p-values of the time-rescaled residuals per dimension.",
    )
    f.add_argument("events", help="time,mark CSV, or a LOBSTER message file with --lobster")
    f.add_argument("--horizon", type=float, default=None, help="T in seconds (default: span)")
    f.add_argument("--method", choices=("mle", "bayes"), default="mle", help="default mle")
    f.add_argument("--lobster", action="store_true", help="EVENTS is a LOBSTER message file")
    f.add_argument("--dim", type=int, default=None, help="dimensions (default max mark + 1)")
    f.add_argument(
        "--beta-structure",
        choices=("full", "source", "scalar"),
        default="full",
        help="free decays: a (d, d) matrix (default), one per source dimension, or one",
    )
    f.add_argument("--warmup", type=int, default=100, help="NUTS warmup steps (bayes)")
    f.add_argument("--samples", type=int, default=200, help="NUTS samples per chain (bayes)")
    f.add_argument("--chains", type=int, default=2, help="NUTS chains (bayes)")
    f.add_argument(
        "--seed", type=int, default=0, help="random seed: NUTS (bayes), random starts (mle)"
    )
    f.add_argument(
        "--starts",
        type=int,
        default=N_STARTS,
        help=f"L-BFGS starts (mle; bayes: of the MLE the chains start around): the data-driven "
        f"one and random ones, best optimum kept (default {N_STARTS}; 1 for a single start)",
    )
    f.add_argument(
        "--start",
        type=float,
        default=0.0,
        help="time the data start, seconds: subtracted from every event time and from "
        "--horizon (e.g. 34200 for times in seconds after midnight from 09:30)",
    )
    f.add_argument(
        "--allow-unconverged",
        action="store_true",
        help="exit 0 even when the fit did not converge (L-BFGS gradient above tolerance, or "
        "NUTS r_hat > 1.05); the result is still marked",
    )
    f.add_argument(
        "--allow-nonstationary",
        action="store_true",
        help="let the MLE leave the stationary region (branching ratio >= 1)",
    )
    add_json_flag(f)
    f.set_defaults(run=run_fit)


def _params_from_args(args) -> hk.HawkesParams:
    mu = parse_numbers("--mu", args.mu)
    alpha = parse_numbers("--alpha", args.alpha)
    beta = parse_numbers("--beta", args.beta)
    return hk.HawkesParams.create(mu, alpha, beta, dtype=jnp.float64)


def run_simulate(args) -> int:
    horizon = float(positive("--horizon", args.horizon))
    if Path(args.out).is_dir():
        raise InputError(f"--out {args.out} is a folder; give the CSV file to write")
    with jax.enable_x64(True):
        params = _params_from_args(args)
        expected = np.asarray(hk.expected_count(params, horizon))
        capacity = args.capacity
        if capacity is None:
            capacity = int(3 * expected.sum()) + 100
        capacity = positive_int("--capacity", capacity)
        events = hk.simulate(jax.random.key(args.seed), params, horizon, capacity)
        count = int(events.count)
        times = np.asarray(events.times)[:count]
        marks = np.asarray(events.marks)[:count]
    path = save_events_csv(args.out, times, marks)
    counts = np.bincount(marks, minlength=params.dim)
    if args.json:
        print_json(
            {"out": str(path), "n_events": count, "counts": counts, "expected_counts": expected}
        )
    else:
        print_table(
            f"Simulated {count} events on [0, {fmt(horizon)}] s -> {path}",
            ["dimension", "events", "expected E[N_i(T)]"],
            [(str(i), int(counts[i]), float(expected[i])) for i in range(params.dim)],
        )
    return 0


def _read_events(args):
    """(times_s, marks, horizon_s) from a CSV or a LOBSTER message file, shifted by --start."""
    start = float(finite_array("--start", args.start))
    if args.lobster:
        data = load_lobster(args.events)
        times, marks, _ = trades_from_lobster(data)
        span = lobster_session_s(data)
    else:
        times, marks = load_events_csv(args.events)
        span = float(times[-1])
    if start:
        if times.size and times[0] < start:
            raise InputError(
                f"--start {start:g} s is after the first event at {times[0]:g} s; give a start "
                "at or before the first event"
            )
        times, span = times - start, span - start
    if args.horizon is not None:
        horizon = float(positive("--horizon", args.horizon)) - start
        if horizon <= 0:
            raise InputError(f"--horizon {args.horizon:g} s must be after --start {start:g} s")
    else:
        horizon = span
    if horizon <= 0:
        raise InputError("the data span zero seconds; pass --horizon")
    if times.size and times[-1] > horizon:
        raise InputError(
            f"--horizon {horizon + start:g} s ends before the last event at "
            f"{times[-1] + start:g} s; pass a longer --horizon or omit it to use the data's span"
        )
    first = late_start_gap(times, horizon)
    if first is not None:
        stderr_console.print(
            f"warning: the first event is at {first + start:g} s, {100 * first / horizon:.0f}% "
            "into the horizon, far later than the gaps between events: if the data start later "
            f"than 0 (clock times?), pass --start {first + start:g} (or the session's start)"
        )
    return times, marks, horizon


def _float64_inputs(params: hk.HawkesParams, times, marks, horizon):
    p64 = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), params)
    return p64, hk.events_from_arrays(times, marks, horizon, p64.dim, dtype=jnp.float64)


def _ks_pvalues(params: hk.HawkesParams, times, marks, horizon) -> np.ndarray:
    with jax.enable_x64(True):
        return hk.ks_test(*_float64_inputs(params, times, marks, horizon))


def _log_likelihood(params: hk.HawkesParams, times, marks, horizon) -> float:
    with jax.enable_x64(True):
        p64, events = _float64_inputs(params, times, marks, horizon)
        return float(jax.jit(hk.log_likelihood)(p64, events, horizon))


def _estimate_rows(names_values, errors=None):
    rows = []
    for name, value in names_values:
        flat = np.ravel(value)
        err = None if errors is None else np.ravel(errors[name])
        for idx in np.ndindex(np.shape(value)):
            label = name + ("[" + ",".join(map(str, idx)) + "]" if idx else "")
            k = int(np.ravel_multi_index(idx, np.shape(value))) if idx else 0
            est = fmt(float(flat[k]))
            rows.append((label, est if err is None else f"{est} ± {fmt(float(err[k]))}"))
    return rows


def _available_bytes() -> int | None:
    """Memory the machine can still give (MemAvailable on Linux), or None if unknown."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _check_memory(n_events: int, dim: int, side_by_side: int) -> None:
    """Say before starting when the fit's estimated memory exceeds what the machine has."""
    needed = fit_memory_bytes(n_events, dim, side_by_side)
    available = _available_bytes()
    if available is not None and needed > available:
        stderr_console.print(
            f"warning: this fit needs about {needed / 2**30:.1f} GiB of memory ({n_events} "
            f"events, {dim} dimensions), more than the {available / 2**30:.1f} GiB available; "
            "it may be killed: free memory, or fit fewer events (e.g. one day at a time)"
        )


def run_fit(args) -> int:
    times, marks, horizon = _read_events(args)
    dim = None if args.dim is None else positive_int("--dim", args.dim)
    n_starts = positive_int("--starts", args.starts)
    n_dim = dim if dim is not None else (int(marks.max()) + 1 if marks.size else 1)
    # bayes: the MLE's starts first (the chains start around it), then the chains
    side_by_side = n_starts if args.method == "mle" else max(n_starts, args.chains)
    _check_memory(int(times.size), n_dim, side_by_side)
    if args.method == "mle":
        with progress(enabled=not args.json) as bar, warnings.catch_warnings():
            warnings.simplefilter("ignore", LateStartWarning)  # reported above with --start
            task = bar.add_task("fitting (L-BFGS, then the Hessian)", total=1)
            fit = fit_mle(
                (times, marks),
                horizon,
                dim,
                beta_structure=args.beta_structure,
                stationary=not args.allow_nonstationary,
                n_starts=n_starts,
                seed=args.seed,
            )
            bar.advance(task)
        params, loglik, rho = fit.params, fit.log_likelihood, fit.branching_ratio
        extra = {
            "std_errors": {
                "mu": fit.std_errors.mu,
                "alpha": fit.std_errors.alpha,
                "beta": fit.std_errors.beta,
            },
            "converged": fit.converged,
            "n_iter": fit.n_iter,
            "grad_norm": fit.grad_norm,
            "start_log_likelihoods": fit.start_log_likelihoods,
            "optimum_spread": fit.optimum_spread,
            "starts_at_best": int(fit.starts_at_best()),
        }
        failure = None
        if not fit.converged:
            failure = (
                f"the fit did not converge: L-BFGS stopped after {fit.n_iter} iterations with "
                f"max |grad| {fit.grad_norm:.2g} (tolerance 1e-06) at branching ratio "
                f"{fit.branching_ratio:.4g}; check the data (--start, --horizon), try "
                "--beta-structure scalar, or accept it with --allow-unconverged"
            )
    else:
        with progress(enabled=not args.json) as bar, warnings.catch_warnings():
            warnings.simplefilter("ignore", LateStartWarning)
            task = bar.add_task("sampling (NUTS)", total=1)
            post = fit_bayes(
                (times, marks),
                horizon,
                dim,
                num_warmup=positive_int("--warmup", args.warmup),
                num_samples=positive_int("--samples", args.samples),
                num_chains=positive_int("--chains", args.chains),
                key=jax.random.key(args.seed),
                beta_structure=args.beta_structure,
                n_starts=n_starts,
            )
            bar.advance(task)
        s = post.summary
        params = hk.HawkesParams(
            mu=s["mu"]["mean"], alpha=s["alpha"]["mean"], beta=s["beta"]["mean"]
        )
        loglik = _log_likelihood(params, times, marks, horizon)
        rho = float(np.max(np.abs(np.linalg.eigvals(params.alpha))))
        extra = {"posterior": s, "num_divergences": post.num_divergences}
        r_hat = max(float(np.nanmax(np.asarray(s[k]["r_hat"]))) for k in s)
        failure = None
        if not r_hat <= 1.05:
            failure = (
                f"NUTS did not converge: the largest r_hat is {r_hat:.3g} (> 1.05); run more "
                "--warmup/--samples, or accept it with --allow-unconverged"
            )
    ks = _ks_pvalues(params, times, marks, horizon)
    out = {
        "mu": params.mu,
        "alpha": params.alpha,
        "beta": params.beta,
        "log_likelihood": loglik,
        "branching_ratio": rho,
        "ks_pvalues": ks,
        "n_events": int(times.size),
        "horizon_s": horizon,
        "method": args.method,
        "start_s": float(args.start),
        **extra,
        "provenance": provenance(args, [args.events]),
    }
    code = 0 if failure is None or args.allow_unconverged else 3
    if failure is not None:
        stderr_console.print(f"wmjax hawkes fit: {'warning' if code == 0 else 'error'}: {failure}")
    if args.json:
        print_json(out)
        return code
    fields = [("mu", params.mu), ("alpha", params.alpha), ("beta", params.beta)]
    title = f"Hawkes {args.method.upper()} on {times.size} events over {fmt(horizon)} s"
    if args.method == "mle":
        print_table(
            title, ["parameter", "estimate ± SE"], _estimate_rows(fields, extra["std_errors"])
        )
        console.print(fit.report)
    else:
        rows = []
        for site in ("mu", "alpha", "beta", "branching_ratio"):
            stats = s[site]
            for idx in np.ndindex(np.shape(stats["mean"])):
                label = site + ("[" + ",".join(map(str, idx)) + "]" if idx else "")
                rows.append((label, *(float(np.asarray(stats[k])[idx]) for k in stats)))
        print_table(
            title + " (posterior)", ["parameter", "mean", "sd", "5%", "95%", "r_hat", "ESS"], rows
        )
        console.print(f"{post.num_divergences} divergent transitions after warmup")
    print_table(
        "Fit quality",
        ["quantity", "value"],
        [("log-likelihood", loglik), ("branching ratio", rho)]
        + [(f"KS p-value, dimension {i}", float(p)) for i, p in enumerate(ks)],
    )
    return code
