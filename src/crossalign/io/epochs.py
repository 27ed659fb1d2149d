"""MEG/EEG epochs in: MNE-Python ``Epochs`` (or an rsatoolbox ``TemporalDataset``) as
time-resolved responses per region.

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

__all__ = ["EpochResponses", "from_epochs", "from_temporal_dataset"]


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
    cubes = _cubes(data, trials, {r: [names.index(c) for c in ch] for r, ch in picks.items()})
    return EpochResponses(cubes, conditions, np.asarray(epochs.times), picks)


def _cubes(
    data: np.ndarray, trials: list[np.ndarray], picks: Mapping[str, list[int]]
) -> dict[str, np.ndarray]:
    """(trial, channel, time) trials into (condition, channel, repetition, time) per region,
    NaN-padding the conditions with fewer trials."""
    n_rep = max(len(t) for t in trials)
    out = {}
    for region, idx in picks.items():
        cube = np.full((len(trials), len(idx), n_rep, data.shape[2]), np.nan)
        for k, rows in enumerate(trials):
            cube[k, :, : len(rows)] = data[rows][:, idx].transpose(1, 0, 2)
        out[region] = cube
    return out


def from_temporal_dataset(
    dataset: Any, condition: str = "conds", region: str | None = None
) -> EpochResponses:
    """Responses (condition, channel, repetition, time) per region from an rsatoolbox
    ``TemporalDataset`` (read through its attributes; rsatoolbox is not needed here).

    Parameters
    ----------
    dataset : rsatoolbox.data.TemporalDataset
        ``measurements`` (observation, channel, time), ``obs_descriptors``,
        ``channel_descriptors`` and ``time_descriptors["time"]``.
    condition : str
        The observation descriptor naming each observation's condition; observations of one
        condition are its repetitions, in their order.
    region : str, optional
        A channel descriptor naming each channel's region; default one region, ``"all"``.

    Returns
    -------
    EpochResponses
        Conditions in order of first appearance; channels named by the channel descriptor
        ``"name"`` where there is one, else by position.
    """
    data = np.asarray(getattr(dataset, "measurements", None), dtype=np.float64)
    obs = dict(getattr(dataset, "obs_descriptors", None) or {})
    chans = dict(getattr(dataset, "channel_descriptors", None) or {})
    if data.ndim != 3 or condition not in obs:
        raise InputError(
            "The 'dataset' argument must be an rsatoolbox TemporalDataset with measurements "
            f"(observation, channel, time) and the observation descriptor {condition!r} (the "
            f"'condition' argument). Got measurements of shape {data.shape} and observation "
            f"descriptors {sorted(obs)}."
        )
    labels = np.asarray(obs[condition])
    conditions = list(dict.fromkeys(labels.tolist()))
    trials = [np.flatnonzero(labels == c) for c in conditions]
    names = [str(c) for c in chans.get("name", range(data.shape[1]))]
    if region is None:
        groups = {"all": list(range(data.shape[1]))}
    elif region in chans:
        owner = [str(r) for r in chans[region]]
        groups = {r: [i for i, o in enumerate(owner) if o == r] for r in dict.fromkeys(owner)}
    else:
        raise InputError(
            f"The 'region' argument names channel descriptor {region!r}, which the dataset does "
            f"not have. Expected one of {sorted(chans)}."
        )
    times = dict(getattr(dataset, "time_descriptors", None) or {}).get("time")
    t = np.arange(data.shape[2], dtype=float) if times is None else np.asarray(times, float)
    channels = {r: [names[i] for i in idx] for r, idx in groups.items()}
    return EpochResponses(_cubes(data, trials, groups), [str(c) for c in conditions], t, channels)
