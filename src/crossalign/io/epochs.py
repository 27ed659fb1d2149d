"""MEG/EEG epochs in: MNE-Python ``Epochs`` as time-resolved responses per region.

Conditions come from the epochs' event ids (each condition a stimulus), the trials of a
condition are its repetitions, channels (or source-space vertices) are the units, and regions
are named channel picks. The result feeds :func:`crossalign.rdm_movie` directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from crossalign.errors import InputError

__all__ = ["EpochResponses", "from_epochs"]


@dataclass(frozen=True)
class EpochResponses:
    """Time-resolved responses per region, from MNE epochs.

    Parameters
    ----------
    responses : dict of str to numpy.ndarray
        Per region: (condition, channel, repetition, time); a condition with fewer trials
        than the most has NaN repetitions.
    conditions : list of str
        The event names, in event-id order.
    times : numpy.ndarray
        Seconds relative to the events.
    channels : dict of str to list of str
        Each region's channels.
    """

    responses: dict[str, np.ndarray]
    conditions: list[str]
    times: np.ndarray
    channels: dict[str, list[str]]


def from_epochs(epochs: Any, regions: Mapping[str, Sequence[str]] | None = None) -> EpochResponses:
    """Responses (condition, channel, repetition, time) per region from MNE ``Epochs`` or
    ``EpochsArray``.

    Parameters
    ----------
    epochs : mne.Epochs or mne.EpochsArray
    regions : mapping of str to sequence of str, optional
        Region name to its channel names; default one region, ``"all"``, of every channel.

    Returns
    -------
    EpochResponses
    """
    if not (hasattr(epochs, "get_data") and hasattr(epochs, "event_id")):
        raise InputError(
            f"The 'epochs' argument must be MNE Epochs or EpochsArray. Got {type(epochs).__name__}."
        )
    names = list(epochs.ch_names)
    picks = {"all": names} if regions is None else {str(k): list(v) for k, v in regions.items()}
    for region, channels in picks.items():
        missing = [c for c in channels if c not in names]
        if missing or not channels:
            raise InputError(
                f"The 'regions' argument gives region {region!r} "
                + (f"channels the epochs do not have: {missing[:5]}" if missing else "no channel")
                + f". Expected channel names of the epochs, e.g. {names[:3]}."
            )
    data = np.asarray(epochs.get_data(), dtype=np.float64)  # (trial, channel, time)
    codes = np.asarray(epochs.events[:, 2])
    conditions = list(epochs.event_id)
    trials = [np.flatnonzero(codes == epochs.event_id[c]) for c in conditions]
    n_rep = max(len(t) for t in trials)
    out = {}
    for region, channels in picks.items():
        idx = [names.index(c) for c in channels]
        cube = np.full((len(conditions), len(idx), n_rep, data.shape[2]), np.nan)
        for k, rows in enumerate(trials):
            cube[k, :, : len(rows)] = data[rows][:, idx].transpose(1, 0, 2)
        out[region] = cube
    return EpochResponses(out, conditions, np.asarray(epochs.times), picks)
