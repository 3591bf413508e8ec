"""Fitting Hawkes processes: maximum likelihood (optax L-BFGS, decays included) and Bayesian
posteriors (numpyro NUTS on the exact log-likelihood)."""

from wmjax.calibrate._bayes import BayesResult, fit_bayes
from wmjax.calibrate._mle import FitResult, fit_mle

__all__ = ["BayesResult", "FitResult", "fit_bayes", "fit_mle"]
