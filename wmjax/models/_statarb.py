"""The stat-arb world model: an encoder over the two legs' features and the spread's, a GRU over
days, and three heads: the spread's z-score (distance from its equilibrium in equilibrium
standard deviations), its half-life (days) and a 2-way regime (mean reverting or not).

Trained on simulated cointegrated baskets, whose truth is known (z = X / sigma_eq of the current
regime, half-life ln 2 / kappa, reverting = kappa > 252/30), and on real pairs of a training
period, labelled by the OU fit of the next 60 days (where the spread will actually revert to):
labels may look ahead inside the training period, never past its end. Inputs are causal: day t
sees nothing after its close.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.calibrate import AL_MIN_KAPPA_PER_YEAR, OUFit, mean_reverting, rolling_ou_fit
from wmjax.execution import TrainResult, train
from wmjax.market import BasketConfig, BasketParams, simulate_basket

N_FEATURES = 7
_VOL_DAYS = 60
_SHORT_VOL_DAYS = 10


@struct.dataclass
class StatArbSignals:
    """The model's read of a spread per day: z-score, log half-life (days), regime logits (2:
    not reverting, reverting)."""

    z_score: jax.Array
    log_half_life_days: jax.Array
    regime_logits: jax.Array

    @property
    def p_reverting(self) -> jax.Array:
        return jax.nn.softmax(self.regime_logits)[..., 1]


class StatArbitrageWorldModel(nn.Module):
    """features (batch, days, N_FEATURES) -> StatArbSignals (batch, days). The two legs share
    one encoder (their features go through the same Dense layer), joined with the spread's."""

    hidden: int = 32

    @nn.compact
    def __call__(self, features: jax.Array) -> StatArbSignals:
        legs = features[..., :4].reshape(*features.shape[:-1], 2, 2)
        leg_code = nn.gelu(nn.Dense(self.hidden // 2, name="leg_encoder")(legs))
        code = jnp.concatenate([leg_code.reshape(*features.shape[:-1], -1), features[..., 4:]], -1)
        code = nn.gelu(nn.Dense(self.hidden, name="encoder")(code))
        h = nn.RNN(nn.GRUCell(self.hidden), name="gru")(code)
        out = nn.Dense(4, name="heads")(h)
        return StatArbSignals(
            z_score=out[..., 0], log_half_life_days=out[..., 1], regime_logits=out[..., 2:]
        )


def _trailing_sd(x, days):
    """Standard deviation of the `days` values up to and including t (fewer at the start)."""
    cum = jnp.cumsum(jnp.stack([jnp.ones_like(x), x, x * x]), axis=1)
    lagged = jnp.concatenate([jnp.zeros((3, days), x.dtype), cum[:, :-days]], axis=1)
    n, s1, s2 = cum - lagged
    return jnp.sqrt(jnp.maximum(s2 / n - (s1 / n) ** 2, 1e-12))


def pair_features(spread: jax.Array, leg_returns: jax.Array, fit: OUFit) -> jax.Array:
    """Causal features (S, N_FEATURES) of one pair over S days: per leg its return over its
    60-day volatility and log(10-day / 60-day volatility); the spread's change over its 60-day
    volatility, the A&L s-score and log(kappa / (252/30)) of the rolling fit `fit`."""

    def leg(r):
        sd = _trailing_sd(r, _VOL_DAYS)
        return jnp.stack([r / sd, jnp.log(_trailing_sd(r, _SHORT_VOL_DAYS) / sd)], -1)

    dx = jnp.diff(spread, prepend=spread[:1])
    log_kappa = jnp.log(jnp.maximum(fit.kappa_per_year, 1e-3) / AL_MIN_KAPPA_PER_YEAR)
    log_kappa = jnp.where(jnp.isfinite(log_kappa), log_kappa, -3.0)
    # leg_returns[t] is the move from t to t + 1: shift by one day so day t sees its own close
    past = jnp.concatenate([jnp.zeros_like(leg_returns[:1]), leg_returns[:-1]], 0)
    feats = jnp.concatenate(
        [
            leg(past[:, 0]),
            leg(past[:, 1]),
            jnp.stack([dx / _trailing_sd(dx, _VOL_DAYS), fit.s_score, log_kappa], -1),
        ],
        -1,
    )
    return jnp.clip(feats, -5.0, 5.0)


@struct.dataclass
class Targets:
    """Training labels per day with masks (z and half-life only where an OU exists)."""

    z_score: jax.Array
    log_half_life_days: jax.Array
    reverting: jax.Array
    z_mask: jax.Array
    regime_mask: jax.Array


def simulated_example(key, params: BasketParams, config: BasketConfig):
    """Features and true labels of the pair (asset 0, anchor asset 1) of one simulated basket."""
    path = simulate_basket(key, params, config)
    beta = params.loadings[0] / params.loadings[1]
    spread = path.log_prices[:, 0] - beta * path.log_prices[:, 1]
    r = jnp.expm1(jnp.diff(path.log_prices, axis=0))
    leg_returns = jnp.concatenate([r, jnp.zeros_like(r[:1])], 0)
    feats = pair_features(spread, leg_returns, rolling_ou_fit(spread))
    kappa = params.kappa_per_year[path.regime]
    sigma = params.sigma_per_sqrt_year[path.regime] * params.spread_scale[0]
    has_ou = kappa > 0
    safe_kappa = jnp.where(has_ou, kappa, 1.0)
    z = path.spreads[:, 0] / (sigma / jnp.sqrt(2 * safe_kappa))
    targets = Targets(
        z_score=jnp.where(has_ou, z, 0.0),
        log_half_life_days=jnp.log(jnp.log(2.0) / safe_kappa * 252.0),
        reverting=kappa > AL_MIN_KAPPA_PER_YEAR,
        z_mask=has_ou,
        regime_mask=jnp.ones_like(has_ou),
    )
    return feats, targets


def forward_targets(spread: jax.Array, last_label_day, window: int = 60) -> Targets:
    """Labels of a real spread from the OU fit of the next `window` days (t + 1 .. t + window),
    masked where that window would pass `last_label_day` (the end of the training period)."""
    ahead = rolling_ou_fit(spread, window)
    shift = lambda a: jnp.concatenate([a[window:], jnp.zeros_like(a[:window])])  # noqa: E731
    fwd = jax.tree.map(shift, ahead)
    t = jnp.arange(spread.shape[0])
    inside = t + window <= last_label_day
    ok = mean_reverting(fwd) & inside
    z = (spread - fwd.mean) / fwd.sigma_eq
    return Targets(
        z_score=jnp.where(ok, jnp.clip(z, -5, 5), 0.0),
        log_half_life_days=jnp.where(ok, jnp.log(fwd.half_life_days), 0.0),
        reverting=ok,
        z_mask=ok,
        regime_mask=inside,
    )


def statarb_loss(model, params, feats, targets: Targets):
    """Masked squared errors of z and log half-life plus the regime cross-entropy."""
    out = model.apply(params, feats)
    z_mask = targets.z_mask.astype(jnp.float32)
    r_mask = targets.regime_mask.astype(jnp.float32)
    z_err = ((out.z_score - targets.z_score) ** 2 * z_mask).sum() / jnp.maximum(z_mask.sum(), 1)
    hl_err = ((out.log_half_life_days - targets.log_half_life_days) ** 2 * z_mask).sum()
    ce = optax.softmax_cross_entropy_with_integer_labels(
        out.regime_logits, targets.reverting.astype(jnp.int32)
    )
    return (
        z_err
        + 0.2 * hl_err / jnp.maximum(z_mask.sum(), 1)
        + (ce * r_mask).sum() / jnp.maximum(r_mask.sum(), 1)
    )


def random_basket_params(key, n: int) -> BasketParams:
    """`n` pairs with varied regimes: calm kappa in [10, 80]/year, a slow volatile regime, a
    breakdown (kappa 0); spread vol 0.05-0.3 per sqrt(year); 5 bps per side."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    u = lambda k, lo, hi: jax.random.uniform(k, (n,), minval=lo, maxval=hi)  # noqa: E731
    kappa_calm = jnp.exp(u(k1, jnp.log(10.0), jnp.log(80.0)))
    sigma = u(k2, 0.05, 0.3)
    stay = jnp.array([1 - 1 / 120, 1 - 1 / 40, 1 - 1 / 30])
    trans = jnp.where(jnp.eye(3) > 0, stay[:, None], (1 - stay[:, None]) / 2)
    ones = jnp.ones(n)
    return BasketParams(
        kappa_per_year=jnp.stack([kappa_calm, u(k3, 1.0, 8.0), 0 * ones], 1),
        sigma_per_sqrt_year=jnp.stack([sigma, 2 * sigma, 2 * sigma], 1),
        transition=jnp.broadcast_to(trans, (n, 3, 3)),
        initial_regime_probs=jnp.full((n, 3), 1 / 3),
        loadings=jnp.stack([ones, u(k4, 0.5, 1.5)], 1),
        spread_scale=jnp.stack([ones, 0 * ones], 1),
        factor_drift_per_year=0.05 * ones,
        factor_vol_per_sqrt_year=0.2 * ones,
        cost_bps=5.0 * ones,
    )


def train_statarb_model(
    key: jax.Array,
    real_features: jax.Array | None = None,
    real_targets: Targets | None = None,
    *,
    model: StatArbitrageWorldModel | None = None,
    n_days: int = 256,
    n_sim: int = 32,
    n_real: int = 32,
    n_updates: int = 300,
    learning_rate: float = 3e-3,
    callback=None,
) -> tuple[StatArbitrageWorldModel, TrainResult]:
    """Train the world model with Adam: each update draws `n_sim` fresh simulated pairs of
    `n_days` days and `n_real` sequences (with replacement) from `real_features` (R, n_days, F)
    and `real_targets` (from `forward_targets`, training period only), in one batch."""
    positive_int("n_updates", n_updates)
    positive("learning_rate", learning_rate)
    model = model or StatArbitrageWorldModel()
    config = BasketConfig(n_days=positive_int("n_days", n_days) - 1)
    use_real = real_features is not None and real_features.shape[0] > 0
    if use_real:
        require(
            real_features.shape[1] == n_days,
            f"real_features have {real_features.shape[1]} days but n_days is {n_days}",
        )

    def loss(params, k):
        k_par, k_sim, k_real = jax.random.split(k, 3)
        sim_params = random_basket_params(k_par, n_sim)
        keys = jax.random.split(k_sim, n_sim)
        feats, targets = jax.vmap(simulated_example, in_axes=(0, 0, None))(keys, sim_params, config)
        if use_real:  # one batch, one GRU pass (and one compile) for both sources
            pick = jax.random.randint(k_real, (n_real,), 0, real_features.shape[0])
            both = lambda a, b: jnp.concatenate([a, b[pick]])  # noqa: E731
            feats = both(feats, real_features)
            targets = jax.tree.map(both, targets, real_targets)
        return statarb_loss(model, params, feats, targets)

    k_init, k_train = jax.random.split(key)
    params = model.init(k_init, jnp.zeros((1, n_days, N_FEATURES), jnp.float32))
    schedule = optax.cosine_decay_schedule(learning_rate, n_updates, alpha=0.1)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule))
    result = train(loss, params, optimizer, k_train, n_updates, callback=callback)
    return model, result


def model_signals(model: StatArbitrageWorldModel, params, spread, leg_returns, fit: OUFit):
    """The model's signals for a batch of pairs: spread (B, S), leg_returns (B, S, 2) and their
    rolling OU fits (B, S) -> StatArbSignals (B, S)."""
    feats = jax.vmap(pair_features)(spread, leg_returns, fit)
    return model.apply(params, feats)
