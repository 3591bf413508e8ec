"""The execution world model in flight: its E[final IS | state] after j of n intervals, checked
against the closed form of an arithmetic random-walk mid whose impact does not depend on the
price path (Almgren & Chriss 2000: the remaining shares carry the price move one-for-one, the
shortfall so far is sunk), against a closed-form baseline and against its own arrival
prediction, on held-out simulated paths."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.models._execution_world_data import InFlight, arrival_state


@partial(jax.jit, static_argnames="model")
def in_flight_shortfall(model, params, data: tuple, state: InFlight) -> jax.Array:
    """E[final IS] (bps) predicted for each problem of `data` = (venues, orders, plans) in its
    in-flight `state` (fields (n,)); compiled once per model and batch shape."""
    venues, orders, plans = data
    imagine = jax.vmap(model.imagine, in_axes=(None, 0, 0, 0, 0))
    return imagine(params, plans, venues, orders, state)["is_mean_bps"]


def state_effects(
    model, params, data: tuple, state: InFlight, move_bps: float = 25.0, is_bps: float = 10.0
) -> dict:
    """The predicted effect on E[final IS] (bps) of raising the price move so far by `move_bps`
    or the IS so far by `is_bps`, one state per problem of `data` (fields (n,)), beside the
    closed form of an arithmetic random-walk mid whose impact does not depend on the price path:
    remaining fraction x `move_bps` and `is_bps` (a buy; the move is side-signed).
    {"price_move" | "is_so_far": {"model", "closed_form"}}, arrays (n,)."""
    base = in_flight_shortfall(model, params, data, state)
    shifted = {
        "price_move": state.replace(price_move_bps=state.price_move_bps + move_bps),
        "is_so_far": state.replace(is_so_far_bps=state.is_so_far_bps + is_bps),
    }
    closed = {
        "price_move": state.remaining_frac * move_bps,
        "is_so_far": jnp.full_like(base, is_bps),
    }
    return {
        name: {
            "model": np.asarray(in_flight_shortfall(model, params, data, s) - base),
            "closed_form": np.asarray(closed[name]),
        }
        for name, s in shifted.items()
    }


def in_flight_scores(model, params, data, labels, n_paths: int = 32) -> dict:
    """Held out, after j = n/4, n/2, 3n/4 intervals, on `n_paths` paths per problem: bias and
    RMSE (bps) of E[final IS | state] against each path's final IS, for the model, for the
    closed-form baseline IS so far + remaining x price move + the problem's mean remaining cost
    (its simulated paths' mean of the rest; in-sample for the baseline) and for the model's
    arrival prediction (ignores the state); paired MSE gains (model vs each) with SEs over
    problems; and the closed-form contrasts on markets without a regime chain."""
    from wmjax.analytics import mean_se  # analytics imports models

    n_steps = data[2].fractions.shape[-1]
    n = data[1].quantity_shares.shape[0]
    start = jax.tree.map(lambda x: jnp.broadcast_to(x, (n,)), arrival_state())
    arrival = np.asarray(in_flight_shortfall(model, params, data, start))
    realised = np.asarray(labels["path_is_bps"][:, :n_paths])
    repeated = jax.tree.map(lambda x: jnp.repeat(x, n_paths, axis=0), data)
    calm = np.asarray(data[0].lit.regime_sigma_mult[:, 1]) <= 1.0
    out = {}
    for j in (n_steps // 4, n_steps // 2, 3 * n_steps // 4):
        state = jax.tree.map(lambda x, j=j: x[:, :, j], labels["state"])
        closed = np.asarray(state.is_so_far_bps + state.remaining_frac * state.price_move_bps)
        rest = np.asarray(labels["path_is_bps"]) - closed
        baseline = closed[:, :n_paths] + rest.mean(axis=1, keepdims=True)
        flat = jax.tree.map(lambda x: x[:, :n_paths].reshape(-1), state)
        pred = np.asarray(in_flight_shortfall(model, params, repeated, flat)).reshape(-1, n_paths)
        preds = {
            "model": pred,
            "baseline": baseline,
            "arrival": np.broadcast_to(arrival[:, None], pred.shape),
        }
        sq = {k: ((v - realised) ** 2).mean(axis=1) for k, v in preds.items()}
        row = {
            k: {"bias": mean_se((v - realised).mean(axis=1)), "rmse": float(np.sqrt(sq[k].mean()))}
            for k, v in preds.items()
        }
        row["mse_gain_vs_baseline"] = mean_se(sq["baseline"] - sq["model"])
        row["mse_gain_vs_arrival"] = mean_se(sq["arrival"] - sq["model"])
        one = jax.tree.map(lambda x: x[calm, 0], state)
        effects = state_effects(model, params, jax.tree.map(lambda x: x[calm], data), one)
        row["effects_calm_markets"] = {
            name: {
                "model": mean_se(e["model"]),
                "closed_form": float(np.mean(e["closed_form"])),
                "model_minus_closed": mean_se(e["model"] - e["closed_form"]),
                "corr": float(np.corrcoef(e["model"], e["closed_form"])[0, 1])
                if np.std(e["closed_form"]) > 0
                else None,
            }
            for name, e in effects.items()
        }
        out[f"j={j}"] = row
    return out
