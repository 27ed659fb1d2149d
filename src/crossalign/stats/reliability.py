"""Unit reliability from repeated presentations: the noise-ceiling SNR (NCSNR) and the
voxel filter built on it.

Allen et al. 2022 (Nat. Neurosci. 25:116, the Natural Scenes Dataset) define, for responses
z-scored per unit, the noise SD ``sigma_noise = sqrt(mean over stimuli of the variance across
repeats)`` (ddof 1), the signal SD ``sigma_signal = sqrt(max(0, 1 - sigma_noise^2))`` and
``NCSNR = sigma_signal / sigma_noise``. Hoefling et al. 2026 keep the voxels with
NCSNR >= 0.2.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from crossalign.data.containers import BrainData
from crossalign.errors import InputError
from crossalign.papers import HOEFLING2026

__all__ = ["ncsnr", "reliable_units"]


def ncsnr(responses: Any) -> np.ndarray:
    """The noise-ceiling SNR of every unit.

    Parameters
    ----------
    responses : array_like, shape (n_stimuli, n_units, n_repetitions)
        Responses to repeated presentations; NaN marks a missing repetition. Each unit is
        z-scored over all its presentations first (as Allen et al. 2022 z-score betas).

    Returns
    -------
    numpy.ndarray, shape (n_units,)
        NCSNR per unit; 0 where the repeats explain no variance, NaN for a unit without a
        stimulus shown at least twice.
    """
    x = np.asarray(responses, dtype=np.float64)
    if x.ndim != 3:
        raise InputError(
            "The 'responses' argument must be (n_stimuli, n_units, n_repetitions). Got an "
            f"array of shape {x.shape}."
        )
    if np.isinf(x).any():
        raise InputError("The 'responses' argument must not hold infinite values.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN stimuli or units
        mean = np.nanmean(x, axis=(0, 2))
        sd = np.nanstd(x, axis=(0, 2))
        z = (x - mean[None, :, None]) / np.where(sd > 0, sd, np.nan)[None, :, None]
        repeated = np.sum(np.isfinite(z), axis=2) >= 2  # (stimuli, units)
        var = np.nanvar(z, axis=2, ddof=1)
        var[~repeated] = np.nan
        noise = np.sqrt(np.nanmean(var, axis=0))
    signal = np.sqrt(np.maximum(0.0, 1.0 - noise**2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return signal / noise


def reliable_units(
    data: BrainData, threshold: float = HOEFLING2026.loader["ncsnr_threshold"]
) -> BrainData:
    """Keep the units whose NCSNR is at least ``threshold``, in every entry with repeats.

    Parameters
    ----------
    data : BrainData
        Entries with a repetition axis (n_stimuli, n_units, n_repetitions) are filtered;
        entries without repeats are kept whole.
    threshold : float
        The smallest NCSNR kept (default Hoefling et al. 2026's, 0.2:
        :data:`crossalign.papers.HOEFLING2026`).

    Returns
    -------
    BrainData
        With the same subjects, regions and stimuli; ``attrs["ncsnr"]`` holds each filtered
        entry's NCSNR and ``attrs["ncsnr_threshold"]`` the threshold.

    Raises
    ------
    InputError
        An entry keeps no unit.
    """
    if not isinstance(data, BrainData):
        raise InputError(f"The 'data' argument must be a BrainData. Got {type(data).__name__}.")
    entries, kinds, scores = {}, {}, {}
    for key in data:
        values = data[key].values
        if data.kind(key) == "responses" and values.ndim == 3:
            snr = ncsnr(values)
            keep = snr >= threshold
            if not keep.any():
                raise InputError(
                    f"No unit of {key!r} reaches NCSNR {threshold} (the largest is "
                    f"{np.nanmax(snr):.3g}); lower the threshold or check the repeats."
                )
            values = values[:, keep]
            scores[key] = snr
        entries[key], kinds[key] = values, data.kind(key)
    out = type(data)(entries, kinds, data.stimuli, data.attrs)
    out.attrs.update(ncsnr=scores, ncsnr_threshold=threshold)
    return out
