"""Fitting: Hawkes processes (maximum likelihood with optax L-BFGS, Bayesian posteriors with
numpyro NUTS), Engle-Granger cointegration tests and Avellaneda & Lee OU fits of spreads."""

from wmjax.calibrate._bayes import BayesResult, fit_bayes
from wmjax.calibrate._cointegration import (
    EG_CRITICAL_SURFACE,
    EngleGranger,
    adf_stat,
    eg_critical_value,
    engle_granger,
    ols_hedge,
)
from wmjax.calibrate._mle import FitResult, fit_mle
from wmjax.calibrate._ou_fit import (
    AL_MIN_KAPPA_PER_YEAR,
    AL_WINDOW_DAYS,
    OUFit,
    fit_ou_ar1,
    mean_reverting,
    ou_from_ar1,
    rolling_ou_fit,
)

__all__ = [
    "AL_MIN_KAPPA_PER_YEAR",
    "AL_WINDOW_DAYS",
    "EG_CRITICAL_SURFACE",
    "BayesResult",
    "EngleGranger",
    "FitResult",
    "OUFit",
    "adf_stat",
    "eg_critical_value",
    "engle_granger",
    "fit_bayes",
    "fit_mle",
    "fit_ou_ar1",
    "mean_reverting",
    "ols_hedge",
    "ou_from_ar1",
    "rolling_ou_fit",
]
