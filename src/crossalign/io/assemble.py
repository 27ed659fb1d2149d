"""Turning a dataset's trials into :class:`~crossalign.BrainData`: grouping repeated trials
by stimulus (NaN for a missing repeat), dropping units that were never measured, merging
hemispheres, choosing a split, and recording what was done in ``attrs``.

Every dataset loader (BOLD Moments, NSD, THINGS-fMRI, Algonauts) builds its result here, so
the rules are the same for all of them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from crossalign._validation import check_option
from crossalign.data.construct import average_repeats
from crossalign.data.containers import BrainData
from crossalign.errors import InputError

__all__ = ["Entries", "group_repeats", "pick_stimuli", "rdm_cells"]

#: What a loader may do with repetitions: keep the axis (for reliability) or average it.
REPEATS = ("keep", "average")
#: Hemisphere handling: concatenate left and right voxels into one region, or keep both.
HEMISPHERES = ("merge", "keep")


def group_repeats(trials: np.ndarray, ids: Sequence[Hashable]) -> tuple[list[Hashable], np.ndarray]:
    """Trials (n_trials, n_units) shown as stimulus ``ids[t]`` -> (stimulus, repeat, unit).

    Stimuli come in order of first appearance; the repeat index is the order of occurrence;
    stimuli shown fewer times than the most-repeated one get NaN repeats. Float trials keep
    their dtype.

    Parameters
    ----------
    trials : numpy.ndarray
        (n_trials, n_units).
    ids : sequence
        The stimulus of each trial.

    Returns
    -------
    tuple
        The stimulus ids and the (stimulus, repeat, unit) array.
    """
    codes, uniques = pd.factorize(pd.Index(list(ids)), sort=False)
    counts = np.bincount(codes, minlength=len(uniques))
    dtype = trials.dtype if trials.dtype.kind == "f" else np.float64
    out = np.full((len(uniques), int(counts.max()), trials.shape[1]), np.nan, dtype=dtype)
    seen = np.zeros(len(uniques), dtype=np.intp)
    for t, c in enumerate(codes):
        out[c, seen[c]] = trials[t]
        seen[c] += 1
    return list(uniques), out


def pick_stimuli(
    available: Sequence[Hashable], wanted: Iterable[Hashable] | None, what: str
) -> list[Hashable]:
    """``wanted`` (all of ``available`` when None), each checked to exist.

    Parameters
    ----------
    available : sequence
        The dataset's ids.
    wanted : iterable or None
        The ids asked for.
    what : str
        The dataset's name, for the error message.

    Returns
    -------
    list
    """
    if wanted is None:
        return list(available)
    wanted = list(wanted)
    have = set(available)
    unknown = [w for w in wanted if w not in have]
    if unknown:
        raise InputError(
            f"The 'stimuli' option names {len(unknown)} stimulus id(s) that {what} does not "
            f"have, e.g. {unknown[:5]}. Expected ids such as {list(available)[:3]}."
        )
    return wanted


@dataclass
class Entries:
    """Collects (subject, region) -> (stimulus, repeat, unit) arrays, then builds BrainData.

    ``repeats="average"`` averages each array over its repeats (NaN skipped) as it is added,
    so large selections never hold the repeat axis; ``"keep"`` keeps it (needed for NCSNR
    and split-half reliability).

    Parameters
    ----------
    repeats : {"keep", "average"}
        What to do with the repeat axis.
    dtype : numpy dtype
        Stored precision.
    arrays : dict
        The cells added so far, as DataArrays (stimulus, unit[, repetition]).
    dropped : dict
        Units dropped per ``"subject/region"``.
    missing : list
        (subject, region) cells without data.
    unit_attrs : dict
        Per-unit values (e.g. NCSNR) per ``"subject/region"``, by name.
    """

    repeats: str = "keep"
    dtype: Any = np.float64
    arrays: dict[tuple[Hashable, Hashable], xr.DataArray] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    missing: list[tuple[Hashable, Hashable]] = field(default_factory=list)
    unit_attrs: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_option(self.repeats, "repeats", REPEATS, "the dataset loader")

    def add(
        self,
        subject: Hashable,
        region: Hashable,
        betas: np.ndarray,
        stimuli: Sequence[Hashable],
        per_unit: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Add one cell from (stimulus, repeat, unit) betas; units with a stimulus that has no
        finite repeat (never measured, or zero variance in the source files) are dropped and
        counted; a cell left with no unit is recorded as missing. ``per_unit`` values (e.g.
        the dataset's NCSNR) follow the kept units into ``attrs[name]["subject/region"]``.

        Parameters
        ----------
        subject, region : Hashable
        betas : numpy.ndarray
            (n_stimuli, n_repeats, n_units), NaN for a missing repeat.
        stimuli : sequence
            The ids of ``betas``' rows.
        per_unit : mapping, optional
            ``{name: array (n_units,)}``.
        """
        betas = np.asarray(betas)
        if betas.ndim != 3 or betas.shape[0] != len(stimuli):
            raise InputError(
                f"Expected (stimulus, repeat, unit) betas for {len(stimuli)} stimuli in "
                f"({subject!r}, {region!r}). Got an array of shape {betas.shape}."
            )
        measured = np.isfinite(betas).any(axis=1).all(axis=0)  # (unit,)
        if not measured.all():
            self.dropped[f"{subject}/{region}"] = int((~measured).sum())
            betas = betas[:, :, measured]
        if betas.shape[2] == 0:
            self.missing.append((subject, region))
            return
        for name, values in (per_unit or {}).items():
            self.unit_attrs.setdefault(name, {})[f"{subject}/{region}"] = np.asarray(values)[
                measured
            ]
        if self.repeats == "average" or betas.shape[1] == 1:
            arr = average_repeats(betas, axis=1, dtype=np.float64).astype(self.dtype)
            dims: tuple[str, ...] = ("stimulus", "unit")
        else:
            arr = betas.transpose(0, 2, 1).astype(self.dtype)
            dims = ("stimulus", "unit", "repetition")
        self.arrays[(subject, region)] = xr.DataArray(
            arr, dims=dims, coords={"stimulus": list(stimuli)}
        )

    def build(
        self,
        *,
        stimuli: Sequence[Hashable],
        split: Mapping[str, Sequence[Hashable]] | None,
        attrs: Mapping[str, Any],
        constant_units: str = "raise",
    ) -> BrainData:
        """BrainData over ``stimuli`` (the arrays are matched by id), with the fixed split
        (restricted to those stimuli) and the loader's record in ``attrs``.

        Parameters
        ----------
        stimuli : sequence
        split : mapping, optional
            ``{"train": ids, "test": ids}``.
        attrs : mapping
        constant_units : {"raise", "drop", "keep"}

        Returns
        -------
        BrainData
        """
        if not self.arrays:
            raise InputError("The selection holds no (subject, region) cell with any voxel.")
        data = BrainData.from_responses(
            self.arrays,
            stimuli=list(stimuli),
            constant_units=constant_units,  # type: ignore[arg-type]
            dtype=self.dtype,
        )
        data.attrs.update(attrs)
        data.attrs["repeats"] = self.repeats
        data.attrs["dropped_units"] = dict(self.dropped)
        data.attrs["missing_cells"] = [list(map(str, k)) for k in self.missing]
        data.attrs.update(self.unit_attrs)
        if split is not None:
            keep = set(stimuli)
            parts = {k: [i for i in v if i in keep] for k, v in split.items()}
            if all(parts.values()):
                data.attrs["split"] = parts
        return data


def rdm_cells(
    rdms: Mapping[tuple[Hashable, Hashable], np.ndarray],
    stimuli: Sequence[Hashable],
    allow_negative: bool = False,
) -> BrainData:
    """BrainData from ``{(subject, region): RDM}``; absent pairs become missing cells
    (entirely NaN RDMs in :meth:`BrainData.from_rdms` stacks).

    Parameters
    ----------
    rdms : mapping
        Square RDMs over ``stimuli``.
    stimuli : sequence
        The stimulus ids.
    allow_negative : bool
        Accept negative dissimilarities (cross-validated distances).

    Returns
    -------
    BrainData
    """
    subjects = list(dict.fromkeys(s for s, _ in rdms))
    regions = list(dict.fromkeys(r for _, r in rdms))
    n = len(stimuli)
    stacks = {}
    for r in regions:
        stack = np.full((len(subjects), n, n), np.nan)
        for i, s in enumerate(subjects):
            if (s, r) in rdms:
                stack[i] = rdms[(s, r)]
        stacks[r] = stack
    return BrainData.from_rdms(
        stacks, subjects=subjects, stimuli=list(stimuli), allow_negative=allow_negative
    )
