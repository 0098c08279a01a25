"""Truth discovery: learn each source's reliability from many claims.

The estimator reads a long table of reports (``claim, source, label``), infers
each claim's truth and each source's reliability posterior jointly, and hands
the reliabilities to case files as priors (:mod:`credence.discovery.bridge`).

Modules
-------
table
    Reading and validating the long table of reports.
vb
    Mean-field variational Bayes in NumPy (the numbers).
estimator
    :class:`TruthDiscovery`, the scikit-learn style estimator.
bridge
    Fitted source posteriors as case-file reliabilities.
bayes
    Full Bayes on PyMC for small data (imports PyMC).
dask
    The same fit on a Dask DataFrame or Parquet data (imports Dask).
"""

from __future__ import annotations

from credence.discovery.bridge import source_reliabilities, sources_document, sources_yaml
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
    "source_reliabilities",
    "sources_document",
    "sources_yaml",
]
