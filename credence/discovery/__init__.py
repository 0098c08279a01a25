"""Truth discovery: learn each source's reliability from many claims.

The estimator reads a long table of reports (``claim, source, label``, and
optionally ``date`` and ``kind``), infers each claim's truth and each source's
reliability posterior jointly (pooled over sources, with copying among the
reports on a claim), and hands the reliabilities and copy propensities to case
files as priors (:mod:`credence.discovery.bridge`).

Modules
-------
table
    Reading and validating the long table of reports.
models
    The source models, one module each (one-coin, two-coin, Dawid–Skene).
pooling
    Learned population priors (empirical Bayes).
hyperposterior
    A learned prior's own uncertainty, integrated out of what a fit exports.
copying
    Reports on a claim repeating earlier ones.
vb
    Mean-field variational Bayes in NumPy (the numbers).
weights
    What moved each claim: its reports' weights of evidence, in time order.
estimator
    :class:`TruthDiscovery`, the scikit-learn style estimator.
bridge
    Fitted source posteriors as case-file reliabilities.
simulate
    Seeded synthetic tables with known truth.
bayes
    Full Bayes on PyMC for small data (imports PyMC).
dask
    The same fit on a Dask DataFrame or Parquet data (imports Dask).
"""

from __future__ import annotations

from credence.discovery.bridge import (
    copy_probability,
    source_reliabilities,
    sources_document,
    sources_yaml,
)
from credence.discovery.estimator import TruthDiscovery
from credence.discovery.table import Reports, encode_reports, read_reports

__all__ = [
    # estimating
    "TruthDiscovery",
    # the table of reports
    "Reports",
    "encode_reports",
    "read_reports",
    # to case files
    "copy_probability",
    "source_reliabilities",
    "sources_document",
    "sources_yaml",
]
