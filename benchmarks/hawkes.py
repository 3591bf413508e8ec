"""Hawkes benchmark: wmjax against tick, hawkes-rs and hawkeslib, side by side in one run.

Two cases (issue 2): 1-D (mu=0.5, alpha=0.6, beta=2) and 4-D order flow (market buy/sell, limit
buy/sell; mu=[.1,.1,.3,.3], beta=3 everywhere, the dense alpha in `ALPHA_4D`, spectral radius
exactly 0.7). For each case it measures

1. simulation throughput in events/s: wmjax with 1 path and with `--paths` paths
   (`simulate_batch`: vmap over keys, split over the local devices when XLA_FLAGS gives several;
   jit compile reported apart), a profile of the batched run (share of time in jax.random), and
   each installed peer (`benchmarks/hawkes_sim_cpu.py`: the same on 1 and 2 host devices);
2. log-likelihood + gradient time at `--events`/10 and `--events` events (wmjax in float64);
3. maximum-likelihood fits of every parameter, decays included, on `--events` events: wmjax
   `fit_mle` (one start, as the peers), hawkeslib (EM), tick (decay fixed at the truth, and decay
   profiled over a grid) and hawkes-rs. Every fit is scored with OUR exact log-likelihood at the
   parameters it returns;
4. with `--scale-events N` (e.g. 10^7): one 4-D fit with a full decay matrix and standard errors
   on N simulated events in a fresh process, its wall time and peak resident memory
   (`resource.getrusage`), against `fit_memory_bytes`' estimate.

Peers are optional (`pip install -e ".[bench]"`; see benchmarks/README.md): a missing peer is
reported and skipped. Progress goes to stderr, tables to stdout, `--json PATH` writes all rows.

    python benchmarks/hawkes.py            # full run, about 10-15 minutes on 2 cores
    python benchmarks/hawkes.py --quick    # smoke run, seconds
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import json
import os
import platform
import sys
import time
from dataclasses import dataclass

# This file is called hawkes.py and Python puts its folder first on sys.path, where it would
# shadow hawkes-rs's `hawkes` package: drop that entry before importing any peer.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import wmjax.hawkes as wh  # noqa: E402

# Dense order-flow excitation, alpha[i, j] = effect of a type-j event on type i, for types
# (market buy, market sell, limit buy, limit sell): market orders excite their own side most and
# the opposite side's limit orders. Eigenvalues 0.7, 0.315 +/- 0.093i, 0.21.
ALPHA_4D = (
    (0.42, 0.07, 0.07, 0.14),
    (0.07, 0.42, 0.14, 0.07),
    (0.21, 0.07, 0.35, 0.07),
    (0.07, 0.21, 0.07, 0.35),
)
PROFILE_GRID = np.geomspace(0.5, 10.0, 9)  # tick's decay grid; neither true decay lies on it
TICK_START = 0.1  # tick's default start (all ones, spectral radius d) fails with "negative sum"


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    mu: tuple
    alpha: tuple
    beta: float

    @property
    def dim(self) -> int:
        return len(self.mu)

    def params(self, dtype=jnp.float32) -> wh.HawkesParams:
        return wh.HawkesParams.create(self.mu, self.alpha, self.beta, dtype=dtype)

    def horizon_for(self, n_events: float) -> float:
        """Horizon (s) in which the stationary process has `n_events` events on average."""
        rate = float(np.sum(wh.stationary_intensity(self.params())))
        return float(n_events / rate)


CASES = (
    Case("1d", "1-D", (0.5,), ((0.6,),), 2.0),
    Case("4d", "4-D", (0.1, 0.1, 0.3, 0.3), ALPHA_4D, 3.0),
)


@dataclass
class Data:
    """One float64 path: sorted times (s), marks, horizon (s), the checked wmjax buffer."""

    times: np.ndarray
    marks: np.ndarray
    horizon_s: float
    events: wh.HawkesEvents

    def by_dim(self, d: int) -> list[np.ndarray]:
        return [np.ascontiguousarray(self.times[self.marks == i]) for i in range(d)]

    def prefix(self, horizon_s: float, d: int) -> Data:
        keep = self.times <= horizon_s
        return make_data(self.times[keep], self.marks[keep], horizon_s, d)


def make_data(times, marks, horizon_s, d) -> Data:
    times = np.asarray(times, np.float64)
    marks = np.asarray(marks, np.int64)
    with jax.enable_x64(True):
        events = wh.events_from_arrays(times, marks, horizon_s, d, dtype=jnp.float64)
    return Data(times, marks, float(horizon_s), events)


class Progress:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.start:7.1f} s] {message}", file=sys.stderr, flush=True)


def best_time(fn, repeats: int):
    """(last result, fastest wall time in s) over `repeats` calls of `fn()`."""
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def block(tree):
    return jax.block_until_ready(tree)


def as_params64(mu, alpha, beta, d) -> wh.HawkesParams:
    """Unchecked float64 params from any peer's output (beta may be a scalar)."""
    beta = np.broadcast_to(np.asarray(beta, np.float64), (d, d))
    return wh.HawkesParams(
        mu=jnp.asarray(np.reshape(mu, (d,)), jnp.float64),
        alpha=jnp.asarray(np.reshape(alpha, (d, d)), jnp.float64),
        beta=jnp.asarray(beta, jnp.float64),
    )


# ---------------------------------------------------------------- peers


def load_peers(names) -> dict:
    """{name: module or None}, with the reason printed for each one that is missing."""
    modules = {"tick": "tick.hawkes", "hawkes-rs": "hawkes", "hawkeslib": "hawkeslib"}
    peers = {}
    for name in names:
        try:
            module = importlib.import_module(modules[name])
            if name == "hawkes-rs":
                importlib.import_module("hawkes.multivariate")  # not another `hawkes` package
            peers[name] = module
            if name == "hawkeslib":
                _numpy_aliases_for_hawkeslib()
            version = _version(name)
            print(f"peer {name}: installed ({version})")
        except Exception as err:  # any import failure means "not available", not a crash
            peers[name] = None
            print(f"peer {name}: NOT AVAILABLE ({type(err).__name__}: {err}); skipped")
    return peers


def _numpy_aliases_for_hawkeslib() -> None:
    """hawkeslib 0.2.2's samplers use `np.float` and `np.int`, removed in numpy 1.24: restore
    those two aliases (to the builtins they always meant) so that its samplers run."""
    for alias, builtin in (("float", float), ("int", int)):
        if alias not in np.__dict__:
            setattr(np, alias, builtin)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown version"


def rs_params(case: Case, mu=None, alpha=None):
    from hawkes import multivariate as mv
    from hawkes import univariate as uv

    mu = np.asarray(case.mu if mu is None else mu, np.float64)
    alpha = np.asarray(case.alpha if alpha is None else alpha, np.float64)
    if case.dim == 1:
        return uv.Parameters(float(mu[0]), float(alpha[0, 0]), case.beta)
    return mv.Parameters(mu, alpha, case.beta)


def peer_simulators(case: Case, peers: dict) -> dict:
    """{label: fn(seed, horizon_s) -> number of events} for each installed peer."""
    sims = {}
    mu, alpha = np.asarray(case.mu), np.asarray(case.alpha, np.float64)
    if peers.get("hawkes-rs"):
        from hawkes import multivariate as mv
        from hawkes import univariate as uv

        p = rs_params(case)
        if case.dim == 1:
            sims["hawkes-rs"] = lambda seed, horizon_s: len(uv.simulate(p, horizon_s, seed))
        else:
            sims["hawkes-rs"] = lambda seed, horizon_s: sum(
                map(len, mv.simulate(p, horizon_s, seed))
            )
    if peers.get("tick"):
        from tick.hawkes import SimuHawkesExpKernels

        def tick_sim(seed, horizon_s):
            simu = SimuHawkesExpKernels(
                adjacency=alpha,
                decays=np.full((case.dim, case.dim), case.beta),
                baseline=mu,
                end_time=horizon_s,
                seed=seed,
                verbose=False,
            )
            simu.simulate()
            return int(simu.n_total_jumps)

        sims["tick"] = tick_sim
    if peers.get("hawkeslib"):
        import hawkeslib

        if case.dim == 1:
            model = hawkeslib.UnivariateExpHawkesProcess()
            model.set_params(mu[0], alpha[0, 0], case.beta)
            for method in ("ogata", "branching"):
                sims[f"hawkeslib ({method})"] = lambda seed, horizon_s, m=method: _seeded(
                    seed, lambda: len(model.sample(horizon_s, method=m))
                )
        else:
            model = hawkeslib.MultivariateExpHawkesProcess()
            model.set_params(mu, alpha.T.copy(), case.beta)  # its A[l, k]: effect of l on k
            sims["hawkeslib (branching)"] = lambda seed, horizon_s: _seeded(
                seed, lambda: len(model.sample(horizon_s)[0])
            )
    return sims


def _seeded(seed, fn):
    np.random.seed(seed)  # noqa: NPY002 - hawkeslib draws from numpy's global generator
    return fn()


def peer_loglik_grads(case: Case, peers: dict, data: Data) -> dict:
    """{label: fn() -> (loglik, grad)} evaluated at the true parameters."""
    out = {}
    mu, alpha = np.asarray(case.mu, np.float64), np.asarray(case.alpha, np.float64)
    if peers.get("hawkes-rs"):
        from hawkes import multivariate as mv
        from hawkes import univariate as uv

        p = rs_params(case)
        if case.dim == 1:
            out["hawkes-rs"] = lambda: uv.negative_log_likelihood_and_gradient(
                p, data.times, data.horizon_s
            )
        else:
            comps = data.by_dim(case.dim)
            out["hawkes-rs"] = lambda: mv.negative_log_likelihood_and_gradient(
                p, comps, data.horizon_s
            )
    if peers.get("tick"):
        from tick.hawkes import ModelHawkesExpKernLogLik

        comps = data.by_dim(case.dim)
        coeffs = np.concatenate([mu, alpha.ravel()])

        def tick_fresh():  # a new model: includes tick's per-decay precomputation
            model = ModelHawkesExpKernLogLik(case.beta)
            model.fit(comps, data.horizon_s)
            return model.loss_and_grad(coeffs)

        cached = ModelHawkesExpKernLogLik(case.beta)
        cached.fit(comps, data.horizon_s)
        cached.loss_and_grad(coeffs)
        out["tick (fresh model)"] = tick_fresh
        out["tick (decay fixed, cached)"] = lambda: cached.loss_and_grad(coeffs)
    if peers.get("hawkeslib") and case.dim == 1:
        from hawkeslib.model.c.c_uv_exp import uv_exp_ll, uv_exp_ll_grad

        out["hawkeslib (ll + grad)"] = lambda: (
            uv_exp_ll(data.times, mu[0], alpha[0, 0], case.beta, data.horizon_s),
            uv_exp_ll_grad(data.times, mu[0], alpha[0, 0], case.beta, data.horizon_s),
        )
    return out


def peer_fits(case: Case, peers: dict, data: Data, grid) -> dict:
    """{label: fn() -> (mu, alpha, beta, note)}, every fit on `data` with the peer's own defaults
    except where noted."""
    fits = {}
    d, horizon = case.dim, data.horizon_s
    comps = data.by_dim(d)
    if peers.get("hawkeslib"):
        import hawkeslib

        if d == 1:

            def hl_fit():
                model = hawkeslib.UnivariateExpHawkesProcess()
                model.fit(data.times, horizon)  # EM, the library's default
                m, a, th = model.get_params()
                return m, a, th, "EM, decay fitted"

        else:

            def hl_fit():
                model = hawkeslib.MultivariateExpHawkesProcess()
                model.fit(data.times, data.marks, horizon)  # EM, one shared decay
                m, big_a, th = model.get_params()
                return m, np.asarray(big_a).T, th, "EM, one shared decay fitted"

        fits["hawkeslib"] = hl_fit
    if peers.get("tick"):
        from tick.hawkes import HawkesExpKern

        def tick_fit(beta):
            learner = HawkesExpKern(beta, gofit="likelihood", penalty="none", step=1e-3)
            learner.fit(comps, start=TICK_START)  # tick takes T as the last event time
            return learner

        def tick_fixed():
            learner = tick_fit(case.beta)
            return learner.baseline, learner.adjacency, case.beta, "decay fixed at truth"

        def tick_profiled():
            fitted = [(tick_fit(b), b) for b in grid]
            learner, beta = max(fitted, key=lambda f: f[0].score())  # tick's own score picks
            return learner.baseline, learner.adjacency, beta, f"{len(grid)}-point decay grid"

        fits["tick (decay fixed)"] = tick_fixed
        fits["tick (decay profiled)"] = tick_profiled
    if peers.get("hawkes-rs"):
        from hawkes import multivariate as mv
        from hawkes import univariate as uv

        def rs_fit():
            if d == 1:
                p = uv.fit(data.times, horizon).parameters
                return p.baseline, p.excitation, p.decay, "L-BFGS, decay fitted"
            p = mv.fit(comps, horizon).parameters
            return p.baseline, p.excitation, p.decay, "L-BFGS, one shared decay fitted"

        fits["hawkes-rs"] = rs_fit
    return fits


# ---------------------------------------------------------------- measurements


def bench_simulation(case: Case, args, peers, progress, rows) -> None:
    params = case.params()
    # one path
    horizon = case.horizon_for(args.sim_events)
    expected = args.sim_events  # the stationary count: an upper bound for a path started empty
    cap = int(args.capacity_factor * expected)
    progress(f"{case.label} simulate: wmjax 1 path, {expected:.3g} expected events, cap {cap}")

    def one(seed):
        events = wh.simulate(jax.random.key(seed), params, horizon, cap, throw=False)
        return int(events.count), bool(events.overflow)

    t0 = time.perf_counter()
    one(0)
    first = time.perf_counter() - t0
    runs = [_rate(lambda s=s: one(s)) for s in range(1, 1 + args.repeats)]
    (count, overflow), secs = min(runs, key=lambda r: r[1] / max(r[0][0], 1))
    rows.append(
        _sim_row(case, "wmjax (1 path, float32)", count, secs, max(first - secs, 0.0), overflow)
    )
    # a batch of paths
    batched, horizon_b, cap_b = batched_simulator(case, args.path_events, args.capacity_factor)
    progress(
        f"{case.label} simulate: wmjax {args.paths} paths x {args.path_events:.3g} expected "
        f"events, cap {cap_b}, {jax.local_device_count()} device(s)"
    )
    per_path = (
        0
        if args.quick
        else random_values(lambda k: wh.simulate(k, params, horizon_b, cap_b, throw=False))
    )

    def batch(seed):
        keys = jax.random.split(jax.random.key(seed), args.paths)
        events = block(batched(keys))
        return int(jnp.sum(events.count)), int(jnp.sum(events.overflow))

    t0 = time.perf_counter()
    batch(100)
    first = time.perf_counter() - t0
    runs = [_rate(lambda s=s: batch(s)) for s in range(101, 101 + args.repeats)]
    (count, n_over), secs = min(runs, key=lambda r: r[1] / max(r[0][0], 1))
    label = f"wmjax ({args.paths} paths, float32)"
    if jax.local_device_count() > 1:
        label = f"wmjax ({args.paths} paths on {jax.local_device_count()} devices, float32)"
    rows.append(_sim_row(case, label, count, secs, max(first - secs, 0.0), n_over))
    if not args.quick:  # the smoke run skips the profile (one compile less)
        _profile(case, args, batched, per_path, rows)
    # peers: one path each, as long as wmjax's single path unless that would take more than
    # --peer-sim-s seconds (a warm-up on 1% of the horizon measures the peer's speed)
    for label, sim in peer_simulators(case, peers).items():
        progress(f"{case.label} simulate: {label}")
        try:
            _, warm_s = _rate(functools.partial(sim, 0, horizon / 100))
            scale = min(1.0, args.peer_sim_s / max(100 * warm_s, 1e-9))
            h = max(horizon * scale, horizon / 100)
            runs = [_rate(functools.partial(sim, s, h)) for s in range(1, 1 + args.repeats)]
            count, secs = min(runs, key=lambda r: r[1] / max(r[0], 1))
            rows.append(_sim_row(case, label, count, secs, None, None))
        except Exception as err:
            _failed(rows, "simulate", case, label, err)


def batched_simulator(case: Case, path_events: int, capacity_factor: float):
    """(fn(keys) -> HawkesEvents, horizon_s, capacity): `simulate_batch` of float32 paths with
    `path_events` expected events each; the paths split over the local devices when there are
    several (XLA_FLAGS=--xla_force_host_platform_device_count=2 on a 2-core CPU)."""
    params = case.params()
    horizon_s = case.horizon_for(path_events)
    cap = int(capacity_factor * path_events)
    fn = functools.partial(
        wh.simulate_batch, params=params, horizon_s=horizon_s, capacity=cap, throw=False
    )
    return fn, horizon_s, cap


def _profile(case: Case, args, batched, per_path: int, rows) -> None:
    """The draws alone against the whole batch, alternated so both see the same load."""
    cap_b = int(args.capacity_factor * args.path_events)
    draws = jax.jit(jax.vmap(lambda k: jax.random.uniform(k, (per_path,), jnp.float32)))
    keys = jax.random.split(jax.random.key(7), args.paths)
    block(draws(keys))
    draw_secs, secs = np.inf, np.inf
    for _ in range(max(args.repeats, 3)):
        draw_secs = min(draw_secs, best_time(lambda: block(draws(keys)), 1)[1])
        secs = min(secs, best_time(lambda: block(batched(keys)), 1)[1])
    rows.append(
        {
            "section": "profile",
            "case": case.label,
            "method": f"wmjax {args.paths} paths: jax.random alone",
            "seconds": draw_secs,
            "batch_seconds": secs,
            "share_of_batch": draw_secs / secs,
            "random_per_step": per_path / (cap_b + 1),
            "note": f"as many uniforms as simulate draws ({per_path / (cap_b + 1):.2g} per scan "
            f"step, {cap_b + 1} steps x {args.paths} paths): "
            f"{draw_secs / (per_path * args.paths) * 1e9:.0f} ns per value",
        }
    )


def random_values(fn) -> int:
    """Random values one call of `fn(key)` draws: the sizes of the random_bits in its jaxpr,
    times the trip count of every scan they sit in."""
    total = 0

    def walk(jaxpr, repeats):
        nonlocal total
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "random_bits":
                total += repeats * sum(int(np.prod(v.aval.shape)) for v in eqn.outvars)
            inner_repeats = repeats * int(eqn.params.get("length", 1))
            for value in eqn.params.values():
                for sub in value if isinstance(value, list | tuple) else [value]:
                    inner = getattr(sub, "jaxpr", sub)
                    if hasattr(inner, "eqns"):
                        walk(inner, inner_repeats)

    walk(jax.make_jaxpr(fn)(jax.random.key(0)).jaxpr, 1)
    return total


def _rate(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _sim_row(case, method, count, secs, compile_s, overflow):
    return {
        "section": "simulate",
        "case": case.label,
        "method": method,
        "events": count,
        "seconds": secs,
        "events_per_s": count / secs,
        "compile_s": compile_s,
        "overflow": overflow,
    }


def _failed(rows, section, case, method, err):
    print(f"  {method} failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
    rows.append({"section": section, "case": case.label, "method": method, "error": f"{err}"[:200]})


def simulate_data(case: Case, n_events: int, seed: int, progress, rows) -> Data:
    """One float64 wmjax path with about `n_events` events (also timed as a simulation row)."""
    horizon = case.horizon_for(n_events)
    with jax.enable_x64(True):
        params = case.params(jnp.float64)
        cap = int(1.3 * n_events + 100)
        progress(f"{case.label} data: wmjax float64 path, {n_events:.3g} expected events")
        t0 = time.perf_counter()
        events = wh.simulate(jax.random.key(seed), params, horizon, cap)
        n = int(events.count)
        secs = time.perf_counter() - t0
    rows.append(_sim_row(case, "wmjax (1 path, float64, incl. compile)", n, secs, None, False))
    return make_data(np.asarray(events.times[:n]), np.asarray(events.marks[:n]), horizon, case.dim)


def bench_loglik(case: Case, data_sets, args, peers, progress, rows, value_and_grad) -> None:
    with jax.enable_x64(True):
        params = case.params(jnp.float64)
        for data in data_sets:
            n = data.times.size
            progress(f"{case.label} log-likelihood + gradient: wmjax, {n} events")
            t0 = time.perf_counter()
            block(value_and_grad(params, data.events, data.horizon_s))
            first = time.perf_counter() - t0
            (value, _), secs = best_time(
                lambda d=data: block(value_and_grad(params, d.events, d.horizon_s)), args.repeats
            )
            rows.append(
                {
                    "section": "loglik",
                    "case": case.label,
                    "method": "wmjax (float64)",
                    "events": n,
                    "seconds": secs,
                    "compile_s": max(first - secs, 0.0),
                    "loglik": float(value),
                }
            )
            for label, fn in peer_loglik_grads(case, peers, data).items():
                progress(f"{case.label} log-likelihood + gradient: {label}, {n} events")
                try:
                    _, secs = best_time(fn, args.repeats)
                    rows.append(
                        {
                            "section": "loglik",
                            "case": case.label,
                            "method": label,
                            "events": n,
                            "seconds": secs,
                        }
                    )
                except Exception as err:
                    _failed(rows, "loglik", case, label, err)


def bench_mle(case: Case, data: Data, args, peers, progress, rows, value_and_grad) -> None:
    d = case.dim

    def ours(mu, alpha, beta):
        with jax.enable_x64(True):
            value, _ = value_and_grad(as_params64(mu, alpha, beta, d), data.events, data.horizon_s)
            return float(value)

    n = data.times.size
    base = {"section": "mle", "case": case.label, "events": n}
    rows.append(
        {**base, "method": "(true parameters)", "loglik": ours(case.mu, case.alpha, case.beta)}
    )
    fit_mle = _load_fit_mle()
    if fit_mle is None:
        rows.append({**base, "method": "wmjax fit_mle", "error": "wmjax.calibrate.fit_mle missing"})
    cold_s = 0.0
    for structure, attempt in _wmjax_fits(fit_mle, args):
        label = f"wmjax fit_mle ({structure} beta, {attempt})"
        if attempt == "warm" and cold_s > args.warm_limit:
            print(f"  {label} skipped: the cold fit took {cold_s:.0f} s > --warm-limit", flush=True)
            continue
        progress(f"{case.label} MLE: {label}, {n} events")
        kwargs = _fit_kwargs(fit_mle, structure)
        try:
            t0 = time.perf_counter()
            result = fit_mle(data.events, data.horizon_s, dim=d, **kwargs)
            block(result.params)
            secs = time.perf_counter() - t0
            cold_s = secs if attempt.startswith("cold") else cold_s
            p = result.params
            status = "" if getattr(result, "converged", True) else ", NOT converged"
            rows.append(
                {
                    **base,
                    "method": label,
                    "seconds": secs,
                    "loglik": ours(p.mu, p.alpha, p.beta),
                    "loglik_reported": float(result.log_likelihood),
                    "beta": np.asarray(p.beta).round(3).tolist(),
                    "note": f"L-BFGS, {getattr(result, 'n_iter', '?')} iterations{status}",
                }
            )
        except Exception as err:
            _failed(rows, "mle", case, label, err)
    for label, fit in peer_fits(case, peers, data, args.grid).items():
        progress(f"{case.label} MLE: {label}, {n} events")
        try:
            t0 = time.perf_counter()
            mu, alpha, beta, note = fit()
            secs = time.perf_counter() - t0
            rows.append(
                {
                    **base,
                    "method": label,
                    "seconds": secs,
                    "loglik": ours(mu, alpha, beta),
                    "beta": np.asarray(beta, float).round(3).tolist(),
                    "note": note,
                }
            )
        except Exception as err:
            _failed(rows, "mle", case, label, err)


def _wmjax_fits(fit_mle, args):
    """(beta structure, attempt) pairs to run: the full (d, d) decay matrix, then one shared decay
    (the model hawkes-rs, hawkeslib and tick fit, run once: its compile is not shared)."""
    if fit_mle is None:
        return []
    runs = [("full", a) for a in ("cold, incl. compile", "warm")[: args.mle_repeats]]
    return runs + [("scalar", "after full, same data")] * args.mle_scalar


def _fit_kwargs(fit_mle, structure: str) -> dict:
    """Options fit_mle accepts: no standard errors (no peer computes them), the decay layout."""
    accepted = inspect.signature(fit_mle).parameters
    wanted = {"std_errors": False, "beta_structure": structure, "n_starts": 1}
    return {k: v for k, v in wanted.items() if k in accepted}


def _load_fit_mle():
    try:
        return importlib.import_module("wmjax.calibrate").fit_mle
    except (ImportError, AttributeError) as err:
        print(f"wmjax fit_mle: NOT AVAILABLE ({err}); skipped", file=sys.stderr, flush=True)
        return None


_SCALE_SCRIPT = """
import json, resource, sys, time
import jax, jax.numpy as jnp, numpy as np
import wmjax.hawkes as wh
from wmjax.calibrate import fit_mle
from wmjax.calibrate._starts import fit_memory_bytes
mu, alpha, beta, n = json.loads(sys.argv[1])
with jax.enable_x64(True):
    params = wh.HawkesParams.create(mu, alpha, beta, dtype=jnp.float64)
    horizon = n / float(np.sum(wh.stationary_intensity(params)))
    events = wh.simulate(jax.random.key(2026), params, horizon, int(1.2 * n + 1000))
    count = int(events.count)
    times, marks = np.asarray(events.times)[:count], np.asarray(events.marks)[:count]
    del events
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
fit = fit_mle((times, marks), horizon, len(mu), n_starts=1)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"events": count, "seconds": seconds, "peak_bytes": peak,
    "before_bytes": before, "estimate_bytes": fit_memory_bytes(count, len(mu)),
    "n_iter": fit.n_iter, "converged": fit.converged,
    "finite_se": bool(np.all(np.isfinite(fit.std_errors.beta)))}))
"""


def bench_scale(case: Case, args, progress, rows) -> None:
    """One fit (full decays, standard errors) on `--scale-events` events in a fresh process."""
    import subprocess

    progress(f"{case.label} scale: fit_mle on {args.scale_events:.3g} events (subprocess)")
    spec = json.dumps([case.mu, case.alpha, case.beta, args.scale_events])
    try:
        run = subprocess.run(
            [sys.executable, "-c", _SCALE_SCRIPT, spec], capture_output=True, text=True, check=True
        )
        out = json.loads(run.stdout.strip().splitlines()[-1])
    except (subprocess.CalledProcessError, ValueError) as err:
        _failed(rows, "scale", case, "wmjax fit_mle (full beta, SE)", err)
        return
    gib = 2.0**30
    rows.append(
        {
            "section": "scale",
            "case": case.label,
            "method": "wmjax fit_mle (full beta, SE, 1 start)",
            "events": out["events"],
            "fit_s": out["seconds"],
            "peak_gib": out["peak_bytes"] / gib,
            "data_gib": out["before_bytes"] / gib,
            "estimate_gib": out["estimate_bytes"] / gib,
            "note": f"{out['n_iter']} iterations, converged {out['converged']}, "
            f"finite SE {out['finite_se']}",
        }
    )


# ---------------------------------------------------------------- report


def add_ratios(rows) -> None:
    """ratio = peer time / wmjax time (> 1: wmjax faster), against the matching wmjax row."""
    for row in rows:
        if "error" in row or "seconds" not in row or row["method"].startswith("wmjax"):
            continue
        ref = _reference(rows, row)
        if ref is None:
            continue
        if row["section"] == "simulate":
            row["ratio"] = ref["events_per_s"] / row["events_per_s"]
        else:
            row["ratio"] = row["seconds"] / ref["seconds"]


def _reference(rows, row):
    same = [
        r
        for r in rows
        if r["section"] == row["section"]
        and r["case"] == row["case"]
        and r["method"].startswith("wmjax")
        and "seconds" in r
        and (row["section"] == "simulate" or r.get("events") == row.get("events"))
    ]
    if row["section"] == "simulate":
        same = [r for r in same if "paths" in r["method"]]  # the batched run
    if row["section"] == "mle":  # the main method: a full decay matrix, warm if it ran twice
        same = [r for r in same if "full" in r["method"]] or same
        same = [r for r in same if "warm" in r["method"]] or same
    return min(same, key=lambda r: r["seconds"]) if same else None


def _fmt(value, spec):
    if value is None:
        return "-"
    if isinstance(value, list):  # a decay matrix: its value, or its range
        lo, hi = float(np.min(value)), float(np.max(value))
        return f"{lo:.3g}" if lo == hi else f"{lo:.3g}..{hi:.3g}"
    return format(value, spec)


def print_tables(rows) -> None:
    sections = {
        "simulate": (
            "Simulation (events/s; ratio = wmjax batched events/s / peer events/s)",
            [
                ("events", "events", "d"),
                ("events/s", "events_per_s", ".3g"),
                ("compile s", "compile_s", ".2f"),
                ("overflow", "overflow", ""),
                ("ratio", "ratio", ".2f"),
            ],
        ),
        "profile": (
            "Profile of the batched wmjax simulation",
            [
                ("random s", "seconds", ".3f"),
                ("batch s", "batch_seconds", ".3f"),
                ("share", "share_of_batch", ".0%"),
                ("", "note", ""),
            ],
        ),
        "loglik": (
            "Log-likelihood + gradient at the true parameters (s; ratio = peer s / wmjax s)",
            [
                ("events", "events", "d"),
                ("seconds", "seconds", ".4f"),
                ("compile s", "compile_s", ".2f"),
                ("ratio", "ratio", ".2f"),
            ],
        ),
        "mle": (
            "MLE, decays included (log-lik = wmjax exact log-likelihood at the returned "
            "parameters; ratio = peer s / wmjax warm s)",
            [
                ("events", "events", "d"),
                ("seconds", "seconds", ".2f"),
                ("log-lik", "loglik", ".2f"),
                ("vs best", "vs_best", "+.2f"),
                ("beta", "beta", ""),
                ("ratio", "ratio", ".2f"),
                ("", "note", ""),
            ],
        ),
    }
    for case in dict.fromkeys(r["case"] for r in rows):
        fitted = [r for r in rows if r["case"] == case and r["section"] == "mle" and "loglik" in r]
        best = max((r["loglik"] for r in fitted if "seconds" in r), default=None)
        for r in fitted:
            r["vs_best"] = None if best is None else r["loglik"] - best
    sections["scale"] = (
        "Fit at scale (peak resident memory of the fitting process; data = before the fit)",
        [
            ("events", "events", "d"),
            ("fit s", "fit_s", ".1f"),
            ("peak GiB", "peak_gib", ".2f"),
            ("data GiB", "data_gib", ".2f"),
            ("estimate GiB", "estimate_gib", ".2f"),
            ("", "note", ""),
        ],
    )
    for section, (title, columns) in sections.items():
        chosen = [r for r in rows if r["section"] == section]
        if not chosen:
            continue
        print(f"\n## {title}")
        header = ["case", "method", *(c[0] for c in columns)]
        table = [header]
        for r in chosen:
            if "error" in r:
                failed = r["error"].splitlines()[0][:70] if r["error"] else "?"
                table.append([r["case"], r["method"], f"FAILED: {failed}"])
                continue
            table.append([r["case"], r["method"], *(_fmt(r.get(k), s) for _, k, s in columns)])
        full = [row for row in table if len(row) == len(header)]
        widths = [max(len(row[i]) for row in full) for i in range(len(header))]
        for row in table:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip())


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"jax {jax.__version__} on {jax.default_backend()}"
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1-D, tiny sizes, one fit, no profile grid"
    )
    parser.add_argument("--events", type=int, help="events for MLE (and LL at /10 and x1)")
    parser.add_argument("--sim-events", type=int, help="expected events of one simulated path")
    parser.add_argument("--paths", type=int, help="paths in the batched simulation")
    parser.add_argument("--path-events", type=int, help="expected events per batched path")
    parser.add_argument("--capacity-factor", type=float, default=1.5)
    parser.add_argument(
        "--peer-sim-s", type=float, default=3.0, help="longest timed peer simulation (s)"
    )
    parser.add_argument("--repeats", type=int, help="timed repeats (fastest kept)")
    parser.add_argument("--mle-repeats", type=int, choices=(1, 2), help="2: cold and warm fit")
    parser.add_argument(
        "--warm-limit",
        type=float,
        default=120.0,
        help="repeat a wmjax fit warm only if the cold one took less (s): compile is then small",
    )
    parser.add_argument(
        "--no-mle-scalar",
        dest="mle_scalar",
        action="store_false",
        help="skip the wmjax fit with one shared decay",
    )
    parser.add_argument("--cases", help="comma list of 1d,4d (default both; --quick: 1d)")
    parser.add_argument("--peers", default="tick,hawkes-rs,hawkeslib", help="comma list or none")
    parser.add_argument("--skip", default="", help="comma list of simulate,loglik,mle")
    parser.add_argument(
        "--scale-events", type=int, default=0, help="events of the 4-D scale fit (0: skip)"
    )
    parser.add_argument("--json", help="write every row to this JSON file")
    args = parser.parse_args(argv)
    defaults = (
        {"events": 10_000, "sim_events": 20_000, "paths": 16, "path_events": 200, "repeats": 1}
        if args.quick
        else {
            "events": 1_000_000,
            "sim_events": 1_000_000,
            "paths": 1024,
            "path_events": 2_000,
            "repeats": 2,
        }
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.mle_repeats is None:
        args.mle_repeats = 1 if args.quick else 2
    if args.cases is None:
        args.cases = "1d" if args.quick else "1d,4d"
    args.mle_scalar = args.mle_scalar and not args.quick
    args.grid = PROFILE_GRID[::4] if args.quick else PROFILE_GRID
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    progress = Progress()
    print(f"# wmjax Hawkes benchmark\nmachine: {machine()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    names = [] if args.peers == "none" else [p for p in args.peers.split(",") if p]
    peers = load_peers(names)
    skip = set(args.skip.split(","))
    rows: list[dict] = []
    grad = jax.jit(jax.value_and_grad(wh.log_likelihood))
    for case in (c for c in CASES if c.key in args.cases.split(",")):
        if "simulate" not in skip:
            bench_simulation(case, args, peers, progress, rows)
        if args.scale_events and case.key == "4d":
            bench_scale(case, args, progress, rows)
        if skip >= {"loglik", "mle"}:
            continue
        data = simulate_data(case, args.events, 2026, progress, rows)
        if "loglik" not in skip:
            sizes = [data] if args.quick else [data.prefix(data.horizon_s / 10, case.dim), data]
            bench_loglik(case, sizes, args, peers, progress, rows, grad)
        if "mle" not in skip:
            bench_mle(case, data, args, peers, progress, rows, grad)
    add_ratios(rows)
    print_tables(rows)
    progress("done")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": machine(), "argv": sys.argv, "rows": rows}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
