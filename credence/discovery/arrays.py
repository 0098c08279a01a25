"""Fast numpy reductions and gathers for the fitting steps.

numpy's general paths are slow for the shapes truth discovery works with: sums
along a short last axis (a Beta's two parameters, a confusion row's few), sums
down a tall array, and gathers of whole rows by fancy indexing. These do the
same work several times faster.
"""

from __future__ import annotations

import numpy as np

__all__ = ["column_sums", "row_sums", "rows"]


def row_sums(x: np.ndarray) -> np.ndarray:
    """Sums along the last axis, as a product with ones.

    Parameters
    ----------
    x : numpy.ndarray

    Returns
    -------
    numpy.ndarray
        ``x.shape[:-1]``.
    """
    return x @ np.ones(x.shape[-1])


def column_sums(x: np.ndarray) -> np.ndarray:
    """Sums along the first axis, one strided column at a time (pairwise, so accurately).

    Parameters
    ----------
    x : numpy.ndarray

    Returns
    -------
    numpy.ndarray
        ``x.shape[1:]``.
    """
    flat = x.reshape(x.shape[0], -1)
    return np.array([flat[:, j].sum() for j in range(flat.shape[1])]).reshape(x.shape[1:])


def rows(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]`` for an integer array ``index``, by :func:`numpy.take`.

    Parameters
    ----------
    values : numpy.ndarray
    index : numpy.ndarray of int

    Returns
    -------
    numpy.ndarray
        ``(len(index), *values.shape[1:])``.
    """
    return np.take(values, index, axis=0)
