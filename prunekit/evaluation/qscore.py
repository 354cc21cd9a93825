"""Q-Score per example (Kalibhat et al. 2022, as paper A, Corti et al. 2022, computes it).

    z~ = z / ||z||_2
    Q  = ((max_j z~_j - mean_j z~_j) / std_j z~_j) / ||z~||_1

``z`` is the penultimate representation of one example. ``ddof`` selects the standard
deviation: 1 (sample std, the default of ``torch.std`` used by PyTorch reference code;
UNCONFIRMED against paper A's code) or 0 (population std). The two differ by the constant
factor sqrt((d - 1) / d), so rankings and PIE comparisons do not depend on the choice.
A constant or all-zero feature vector has no defined Q-Score and gets NaN.
"""
from __future__ import annotations

import numpy as np


def q_score(features, ddof: int = 1) -> np.ndarray:
    """Q-Score of every row of ``features`` (examples, dim) -> (examples,) float64."""
    z = np.asarray(features, np.float64)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"features must be shaped (examples, dim >= 2), got {z.shape}.")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 (population std) or 1 (sample std), got {ddof}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        zt = z / np.linalg.norm(z, axis=1, keepdims=True)
        zscore = (zt.max(1) - zt.mean(1)) / zt.std(1, ddof=ddof)
        return zscore / np.abs(zt).sum(1)
