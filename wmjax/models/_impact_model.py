"""A learned market-impact model: metaorder features -> permanent and temporary impact (bps).

Metaorders (constant-rate TWAPs of X shares over T days in `n_steps` child orders) are executed
with `wmjax.execution.rollout` on `ImpactMarket`s with a known law for the temporary impact
Y sigma (q / V_interval)^delta: the square-root law (delta = 1/2; Bouchaud, Farmer & Lillo
2009), ATHL's 3/5 power (Almgren, Thum, Hauptmann & Li 2005), linear (Almgren & Chriss 2000),
or transient: the linear law's displacement decaying at resilience rho per day, a trade of q
shares moving the price by k q with k = Y sigma rho / V, so that trading at a constant rate v
for long builds the linear law's Y sigma v / V (Obizhaeva & Wang 2013; Gatheral 2010, "No-
dynamic-arbitrage and market impact", Quant. Finance 10). Y = y / depth; linear permanent
impact gamma = g sigma / V per share; randomised sigma, ADV, depth and urgency. Labels use
ATHL's decomposition: permanent I = the mid's shift that remains once every transient
displacement has decayed (the market's undisplaced price S at the horizon, not the final mid,
which still holds the last trades' displacement), realised cost J = E[IS], temporary K = the
rest, J - (I / 2)(1 - 1 / n_steps) (the discrete TWAP pays I (1 - 1/N) / 2 of its own
permanent impact); for the transient law K is the decaying displacement's cost. Antithetic
pairs on the arithmetic market make both exact per metaorder (the Brownian terms cancel for a
static schedule).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from wmjax._checks import positive_int, require
from wmjax.execution import Order, RolloutConfig, rollout, schedule_policy, train, twap
from wmjax.market import ImpactMarket, impact_params

#: law -> exponent of the temporary impact in the participation rate (transient: the linear
#: law's scale, decaying; its cost is not a power of the rate)
IMPACT_LAWS = {"sqrt": 0.5, "athl": 0.6, "linear": 1.0, "transient": 1.0}
ARRIVAL_PRICE = 50.0
N_FEATURES = 6


class _ImpactNet(nn.Module):
    hidden: int

    @nn.compact
    def __call__(self, x):
        x = nn.tanh(nn.Dense(self.hidden)(x))
        x = nn.tanh(nn.Dense(self.hidden)(x))
        return nn.Dense(2)(x)


def impact_features(size_adv, depth, daily_volatility, urgency) -> jax.Array:
    """(..., 6) inputs: log size (fraction of ADV), log relative depth, log daily volatility
    (fraction), log urgency (participation X / (V T)), sqrt(size) and volatility * sqrt(size),
    the last two scaled to order one."""
    s = jnp.asarray(size_adv, jnp.float32)
    v = jnp.asarray(daily_volatility, jnp.float32)
    root = jnp.sqrt(s)
    return jnp.stack(
        [
            jnp.log(s / 0.05),
            jnp.log(jnp.asarray(depth, jnp.float32)),
            jnp.log(v / 0.02),
            jnp.log(jnp.asarray(urgency, jnp.float32) / 0.1),
            root / 0.2,
            v * root / 0.004,
        ],
        axis=-1,
    )


@dataclass(frozen=True)
class MarketImpactModel:
    """features -> (permanent_bps, temporary_bps), both exp(.) of an MLP (positive)."""

    hidden: int = 64

    def init(self, key: jax.Array):
        return _ImpactNet(self.hidden).init(key, jnp.zeros(N_FEATURES))

    def __call__(self, params, features: jax.Array) -> tuple[jax.Array, jax.Array]:
        out = jnp.exp(_ImpactNet(self.hidden).apply(params, features))
        return out[..., 0], out[..., 1]


@dataclass(frozen=True)
class MetaorderDistribution:
    """Log-uniform ranges of the metaorders and their markets; the laws' coefficients y and g
    and the transient law's resilience (per day: half-life ln 2 / 10 = 0.07 day, 27 minutes)."""

    size_adv: tuple[float, float] = (0.005, 0.2)
    horizon_days: tuple[float, float] = (0.1, 1.0)
    daily_volatility: tuple[float, float] = (0.01, 0.04)
    adv_shares: tuple[float, float] = (1e6, 2e7)
    depth: tuple[float, float] = (0.5, 2.0)
    temporary_coefficient: float = 0.3
    permanent_coefficient: float = 0.5
    resilience_per_day: float = 10.0

    def sample(self, key: jax.Array, n: int) -> dict:
        out = {}
        names = ("size_adv", "horizon_days", "daily_volatility", "adv_shares", "depth")
        for name, k in zip(names, jax.random.split(key, len(names)), strict=True):
            lo, hi = np.log(getattr(self, name))
            out[name] = jnp.exp(lo + jax.random.uniform(k, (n,)) * (hi - lo))
        return out


@partial(jax.jit, static_argnames=("n_steps",))
def _execute_twaps(keys, params, orders, n_steps: int):
    # compiled once per n_steps: E[IS] (bps) and the lasting relative shift per metaorder: the
    # undisplaced price S (the mid once the transient displacement has decayed)
    config = RolloutConfig(n_paths=2, n_steps=n_steps, antithetic=True, shard=False)

    def one(k, mp, o):
        p = rollout(k, ImpactMarket(), mp, schedule_policy, twap(n_steps), o, config)
        lasting = p.final_state.price - p.arrival_price
        return jnp.mean(p.is_bps), jnp.mean(lasting / p.arrival_price)

    return jax.vmap(one)(keys, params, orders)


def simulate_metaorders(
    key, draws: dict, law: str, n_steps: int = 20, distribution: MetaorderDistribution | None = None
) -> dict:
    """Execute each drawn metaorder as a TWAP on its market; returns the draws with
    "features", "permanent_bps" (I), "realised_bps" (J) and "temporary_bps" (K)."""
    require(law in IMPACT_LAWS, f"law must be one of {sorted(IMPACT_LAWS)}, got {law!r}")
    n_steps = positive_int("n_steps", n_steps)
    dist = distribution or MetaorderDistribution()
    n = draws["size_adv"].shape[0]
    sigma = draws["daily_volatility"] * ARRIVAL_PRICE
    adv, horizon = draws["adv_shares"], draws["horizon_days"]
    y = dist.temporary_coefficient / draws["depth"]
    base = impact_params(n_steps, arrival_price=ARRIVAL_PRICE)
    params = jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), base)
    linear = law in ("linear", "transient")
    transient = law == "transient"
    params = params.replace(
        sigma=sigma,
        daily_volume_shares=adv,
        volume_frac=jnp.broadcast_to((horizon / n_steps)[:, None], (n, n_steps)),
        gamma=dist.permanent_coefficient * sigma / adv,
        # linear law: eta q / tau = Y sigma q / (V tau), the same scale as the power laws
        eta=jnp.where(law == "linear", y * sigma / adv, 0.0),
        sqrt_coefficient=jnp.where(linear, 0.0, y),
        sqrt_exponent=jnp.full(n, IMPACT_LAWS[law] if not linear else 0.5, jnp.float32),
        transient_strength=jnp.where(transient, y * sigma * dist.resilience_per_day / adv, 0.0),
        transient_resilience=jnp.full(n, dist.resilience_per_day, jnp.float32),
    )
    orders = Order(
        quantity_shares=draws["size_adv"] * adv,
        horizon_days=horizon,
        side=jnp.ones(n, jnp.float32),
        risk_aversion=jnp.zeros(n, jnp.float32),
    )
    realised, shift = _execute_twaps(jax.random.split(key, n), params, orders, n_steps)
    permanent = shift * 1e4
    urgency = draws["size_adv"] / horizon
    return {
        **draws,
        "urgency": urgency,
        "features": impact_features(
            draws["size_adv"], draws["depth"], draws["daily_volatility"], urgency
        ),
        "permanent_bps": permanent,
        "realised_bps": realised,
        "temporary_bps": realised - 0.5 * permanent * (1.0 - 1.0 / n_steps),
    }


def train_impact_model(
    key,
    data: dict,
    model: MarketImpactModel = MarketImpactModel(),
    *,
    n_updates: int = 1500,
    learning_rate: float = 3e-3,
    relative: bool = True,
    callback=None,
):
    """Fit `model` on `simulate_metaorders` (or `simulate_book_metaorders`) output: full-batch
    Adam on the squared error of log impact (`relative`: small and large orders weigh alike;
    labels must be positive), or, for labels that are noisy path means and may be negative (the
    book world), on the squared error in bps over the labels' mean square. Returns
    `TrainResult`."""
    x = data["features"]
    perm, temp = data["permanent_bps"], data["temporary_bps"]
    if relative:
        require(
            bool(jnp.all(perm > 0) & jnp.all(temp > 0)),
            "relative=True needs positive impact labels; pass relative=False for noisy labels",
        )
    scale = jnp.mean(perm**2 + temp**2)

    def loss(params, _key):
        out = _ImpactNet(model.hidden).apply(params, x)
        if relative:
            return jnp.mean((out[:, 0] - jnp.log(perm)) ** 2 + (out[:, 1] - jnp.log(temp)) ** 2)
        pred = jnp.exp(out)
        return jnp.mean((pred[:, 0] - perm) ** 2 + (pred[:, 1] - temp) ** 2) / scale

    sched = optax.cosine_decay_schedule(learning_rate, n_updates, alpha=0.02)
    return train(
        loss,
        model.init(key),
        optax.adam(sched),
        key,
        n_updates,
        fresh_keys=False,
        callback=callback,
    )


def size_slope(
    model: MarketImpactModel,
    params,
    *,
    depth=1.0,
    daily_volatility=0.02,
    horizon_days=0.5,
    sizes=(0.01, 0.2),
) -> float:
    """Log-log slope in size of the model's temporary impact at fixed depth, volatility and
    horizon (urgency moves with size), by least squares over 20 log-spaced sizes."""
    s = np.geomspace(*sizes, 20)
    f = impact_features(s, np.full(20, depth), np.full(20, daily_volatility), s / horizon_days)
    _, temp = model(params, f)
    return float(np.polyfit(np.log(s), np.log(np.asarray(temp)), 1)[0])
