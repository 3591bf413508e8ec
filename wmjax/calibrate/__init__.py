"""Fitting Hawkes processes: maximum likelihood (optax L-BFGS, decays included) and Bayesian
posteriors (numpyro NUTS on the exact log-likelihood)."""

from wmjax.calibrate._bayes import BayesResult, fit_bayes
from wmjax.calibrate._inputs import LateStartWarning, late_start_gap
from wmjax.calibrate._mle import FitResult, fit_mle, fit_mle_batch

__all__ = [
    "BayesResult",
    "FitResult",
    "LateStartWarning",
    "fit_bayes",
    "fit_mle",
    "fit_mle_batch",
    "late_start_gap",
]
