"""One process of the 2-process scale-out test (`test_multiprocess.py`): joins the run with
`jax.distributed.initialize` (CPU collectives over gloo), sees the devices of both processes,
runs `rollout` (paths sharded over all 4 devices) and `counterfactual` (orders of each chunk
split over them), and writes what it gathered to OUT/result_<process>.json.

    python tests/_multiprocess_worker.py PROCESS_ID PORT OUT
"""

import json
import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"

import jax

jax.config.update("jax_cpu_collectives_implementation", "gloo")


def scenario():
    """The computations both the workers and the single-process reference run."""
    import jax.numpy as jnp

    from wmjax.analytics import counterfactual
    from wmjax.execution import RolloutConfig, free_schedule_policy, mean_variance, order, rollout
    from wmjax.market import ImpactMarket, impact_params

    params = impact_params(5, sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625)
    sell = order(1e6, 5.0, "sell", risk_aversion=1e-6)
    logits = jnp.array([0.3, 0.1, 0.0, -0.1, -0.3])
    config = RolloutConfig(n_paths=64, n_steps=5, antithetic=True)
    paths = rollout(
        jax.random.key(0), ImpactMarket(), params, free_schedule_policy, logits, sell, config
    )
    objective = jax.jit(mean_variance)(paths.is_currency, sell.risk_aversion)
    orders = [order(1e5 * (1 + i), 1.0, "buy" if i % 2 else "sell") for i in range(8)]
    report = counterfactual(
        orders,
        jnp.linspace(-5, 5, 8),
        ImpactMarket(),
        params,
        n_paths=32,
        key=jax.random.key(1),
        chunk=4,
    )
    return paths.is_bps, objective, report


def main() -> None:
    process_id, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    jax.distributed.initialize(
        coordinator_address=f"localhost:{port}", num_processes=2, process_id=process_id
    )
    import numpy as np
    from jax.experimental import multihost_utils

    is_bps, objective, report = scenario()
    result = {
        "devices": len(jax.devices()),
        "local_devices": len(jax.local_devices()),
        "sharding": str(is_bps.sharding.spec),
        "is_bps": np.asarray(multihost_utils.process_allgather(is_bps, tiled=True)).tolist(),
        "objective": float(objective),
        "mean_bps": report.mean_bps.tolist(),
        "percentile": report.percentile.tolist(),
        "difference_se_bps": report.difference_se_bps.tolist(),
        "best": report.best,
    }
    with open(os.path.join(out, f"result_{process_id}.json"), "w") as fh:
        json.dump(result, fh)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main()
