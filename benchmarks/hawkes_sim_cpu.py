"""Batched Hawkes simulation against hawkes-rs per CPU-second, for a loaded machine.

Wall-clock ratios mean little when many processes share the cores (the peer, single-threaded,
is preempted as much as jax). This script pins XLA to one thread and measures CPU seconds
(`time.process_time`) of wmjax's batched simulation (`--paths` paths of ~2,000 events, capacity
1.5x, `jax.jit(jax.vmap(simulate))`) and of hawkes-rs (one path of 10^6 events), alternated
`--repeats` times, fastest kept, on the two cases of `benchmarks/hawkes.py`. The ratio is
events per CPU-second of wmjax / of hawkes-rs: what one core does; on an idle machine jax may
add a second core.

    python benchmarks/hawkes_sim_cpu.py --repeats 7
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import jax  # noqa: E402
import numpy as np  # noqa: E402

import wmjax.hawkes as wh  # noqa: E402

ALPHA_4D = (
    (0.42, 0.07, 0.07, 0.14),
    (0.07, 0.42, 0.14, 0.07),
    (0.21, 0.07, 0.35, 0.07),
    (0.07, 0.21, 0.07, 0.35),
)
CASES = {"1-D": ((0.5,), ((0.6,),), 2.0), "4-D": ((0.1, 0.1, 0.3, 0.3), ALPHA_4D, 3.0)}


def _peer(mu, alpha, beta):
    from hawkes import multivariate as mv
    from hawkes import univariate as uv

    if len(mu) == 1:
        p = uv.Parameters(mu[0], alpha[0][0], beta)
        return lambda seed, horizon: len(uv.simulate(p, horizon, seed))
    p = mv.Parameters(np.asarray(mu, float), np.asarray(alpha, float), beta)
    return lambda seed, horizon: sum(map(len, mv.simulate(p, horizon, seed)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}; jax {jax.__version__}")
    for name, (mu, alpha, beta) in CASES.items():
        params = wh.HawkesParams.create(mu, alpha, beta)
        rate = float(np.sum(wh.stationary_intensity(params)))
        horizon = 2000 / rate
        batched = jax.jit(
            jax.vmap(lambda k, p=params, h=horizon: wh.simulate(k, p, h, 3000, throw=False).count)
        )
        keys = jax.random.split(jax.random.key(1), args.paths)
        jax.block_until_ready(batched(keys))  # compile
        peer = _peer(mu, alpha, beta)
        ours, theirs = np.inf, np.inf
        for r in range(args.repeats):
            c0 = time.process_time()
            n = int(jax.block_until_ready(batched(keys)).sum())
            ours = min(ours, (time.process_time() - c0) / n)
            c0 = time.process_time()
            n = peer(r, 1e6 / rate)
            theirs = min(theirs, (time.process_time() - c0) / n)
        print(
            f"{name}: wmjax {args.paths} paths {1e-6 / ours:.2f}M events per CPU-s, "
            f"hawkes-rs {1e-6 / theirs:.2f}M; ratio {theirs / ours:.2f}"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
