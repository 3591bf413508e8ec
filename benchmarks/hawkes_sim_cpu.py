"""Batched Hawkes simulation against hawkes-rs: wall clock and CPU seconds, one core and two.

The cases, the peer and the batched simulator come from `benchmarks/hawkes.py`; this script
only sets up the process first (XLA's CPU flags must be set before jax starts): `--devices`
host devices (`--xla_force_host_platform_device_count`), one XLA thread each. It alternates,
`--repeats` times (fastest kept), wmjax's `jax.jit(jax.vmap(simulate))` on one device,
`wmjax.hawkes.simulate_batch` with the paths split over every device (`--paths` paths of
`--path-events` expected events, capacity 1.5x), and hawkes-rs (one path of 10^6 events,
single-threaded), and prints events per wall second and per CPU second (`time.process_time`)
with the ratios and the load average: on a loaded machine the wall ratios say little.

    python benchmarks/hawkes_sim_cpu.py --repeats 5
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1024)
    parser.add_argument("--path-events", type=int, default=2000)
    parser.add_argument("--devices", type=int, default=2, help="host devices (CPU cores used)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cases", default="1d,4d")
    return parser.parse_args(argv)


def _shared():
    """benchmarks/hawkes.py as a module (its name would shadow hawkes-rs's `hawkes`)."""
    spec = importlib.util.spec_from_file_location(
        "wmjax_bench_hawkes", Path(__file__).with_name("hawkes.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _timed(fn):
    """(result, wall s, CPU s) of one call."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def _bench_case(bench, case, args, peers) -> None:
    jax, wh = bench.jax, bench.wh
    split, horizon, cap = bench.batched_simulator(case, args.path_events, 1.5)
    params = case.params()
    one = jax.jit(jax.vmap(lambda k: wh.simulate(k, params, horizon, cap, throw=False)))
    keys = jax.random.split(jax.random.key(1), args.paths)
    runs = {
        "wmjax vmap, 1 device": lambda: int(jax.block_until_ready(one(keys).count).sum()),
        f"wmjax simulate_batch, {jax.local_device_count()} devices": lambda: int(
            jax.block_until_ready(split(keys).count).sum()
        ),
    }
    for fn in runs.values():
        fn()  # compile
    peer = bench.peer_simulators(case, peers).get("hawkes-rs")
    seeds = iter(range(1, 1 + args.repeats))
    if peer is not None:
        big = case.horizon_for(1e6)
        runs["hawkes-rs, 1 path of 1e6"] = lambda: peer(next(seeds), big)
    best = {name: (0.0, 0.0) for name in runs}  # (events per wall s, per CPU s)
    for _ in range(args.repeats):
        for name, fn in runs.items():
            n, wall, cpu = _timed(fn)
            best[name] = (max(best[name][0], n / wall), max(best[name][1], n / cpu))
    print(f"\n{case.label} (load average {os.getloadavg()[0]:.1f})")
    ref = best.get("hawkes-rs, 1 path of 1e6")
    for name, (wall, cpu) in best.items():
        ratio = "" if ref is None else f"  ratio {wall / ref[0]:.2f} wall, {cpu / ref[1]:.2f} CPU"
        print(f"  {name:34s} {wall / 1e6:6.2f}M events/s wall, {cpu / 1e6:6.2f}M per CPU-s{ratio}")


def main(argv=None) -> int:
    args = _parse(argv)
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + f" --xla_force_host_platform_device_count={args.devices}"
        + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )
    bench = _shared()
    jax = bench.jax
    print(f"load average {os.getloadavg()[0]:.1f}; jax {jax.__version__}; {bench.machine()}")
    print(f"{jax.local_device_count()} host devices, one XLA thread each")
    peers = bench.load_peers(["hawkes-rs"])
    for case in (c for c in bench.CASES if c.key in args.cases.split(",")):
        _bench_case(bench, case, args, peers)
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
