"""Neurodata Without Borders (NWB) files: spike units and imaging ROIs to stimulus responses."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from crossalign.data.containers import BrainData
from crossalign.errors import InputError
from crossalign.io.reading import reading_errors, require_file

__all__ = [
    "load_nwb",
]


# ---------------------------------------------------------------------- NWB
def load_nwb(
    paths: str | Path | Sequence[str | Path],
    *,
    source: Literal["units", "roi"] = "units",
    stimulus_column: str = "stimulus",
    intervals: str = "trials",
    region_column: str = "location",
) -> BrainData:
    """Responses per stimulus from NWB files (one file per subject; pynwb).

    Stimulus presentations come from the ``intervals`` table (default ``trials``) with
    ``start_time``, ``stop_time`` and a ``stimulus_column`` of stimulus ids. ``source="units"``
    gives each unit's spike rate in each presentation window, averaged over presentations of
    the same stimulus, grouped into regions by the units table's ``region_column`` (or the
    electrodes' ``location``). ``source="roi"`` averages each ROI's ``RoiResponseSeries``
    (Fluorescence / DfOverF) over the windows, grouped by its imaging plane's location. The
    subject is the file's ``subject.subject_id`` (or its name).

    Parameters
    ----------
    paths : str, Path or sequence
        One NWB file per subject.
    source : {"units", "roi"}
        Spike rates of units, or ROI response series.
    stimulus_column : str
        The column of stimulus ids in the intervals table.
    intervals : str
        The intervals table (default ``trials``).
    region_column : str
        The units table's column of brain regions.

    Returns
    -------
    BrainData

    Examples
    --------
    >>> data = ca.io.load_nwb(["mouse1.nwb", "mouse2.nwb"], source="roi")  # doctest: +SKIP
    """
    try:
        from pynwb import NWBHDF5IO
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError("load_nwb needs pynwb: pip install 'crossalign[io]'") from exc
    if source not in ("units", "roi"):
        raise InputError(f"The 'source' parameter must be 'units' or 'roi'. Got {source!r}.")
    files = [paths] if isinstance(paths, str | Path) else list(paths)
    responses: dict[tuple[Hashable, Hashable], xr.DataArray] = {}
    for path in files:
        path = require_file(Path(path))
        with reading_errors(path), NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            subject = (
                nwb.subject.subject_id
                if nwb.subject is not None and nwb.subject.subject_id
                else path.stem
            )
            table = nwb.intervals.get(intervals) if nwb.intervals else None
            if table is None:
                raise InputError(f"no intervals table {intervals!r} with stimulus presentations")
            pres = table.to_dataframe()
            if stimulus_column not in pres.columns:
                raise InputError(
                    f"the {intervals!r} table has no column {stimulus_column!r}; it has "
                    f"{list(pres.columns)}"
                )
            ids = pres[stimulus_column].to_numpy()
            starts = pres["start_time"].to_numpy(dtype=float)
            stops = pres["stop_time"].to_numpy(dtype=float)
            if source == "units":
                by_region = _unit_rates(nwb, starts, stops, region_column)
            else:
                by_region = _roi_means(nwb, starts, stops)
            for region, per_presentation in by_region.items():
                frame = pd.DataFrame(per_presentation).groupby(ids, sort=True).mean()
                responses[(subject, region)] = xr.DataArray(
                    frame.to_numpy(),
                    dims=("stimulus", "unit"),
                    coords={"stimulus": frame.index.to_numpy()},
                )
    with reading_errors(files[0]):
        return BrainData.from_responses(responses)


def _unit_rates(
    nwb: Any, starts: np.ndarray, stops: np.ndarray, region_column: str
) -> dict[Hashable, np.ndarray]:
    units = nwb.units
    if units is None or len(units) == 0:
        raise InputError("the file has no units table")
    df = units.to_dataframe()
    if region_column in df.columns:
        regions = df[region_column].astype(str).to_numpy()
    elif "electrodes" in df.columns:
        regions = np.array([str(e["location"].iloc[0]) for e in df["electrodes"]])
    else:
        raise InputError(
            f"the units table has no {region_column!r} column and no electrodes to locate units"
        )
    durations = stops - starts
    if (durations <= 0).any():
        raise InputError("presentation windows must have stop_time > start_time")
    rates = np.empty((len(starts), len(df)))
    for j, spikes in enumerate(df["spike_times"]):
        spikes = np.sort(np.asarray(spikes, dtype=float))
        counts = np.searchsorted(spikes, stops, side="left") - np.searchsorted(
            spikes, starts, side="left"
        )
        rates[:, j] = counts / durations
    return {r: rates[:, regions == r] for r in dict.fromkeys(regions)}


def _roi_means(nwb: Any, starts: np.ndarray, stops: np.ndarray) -> dict[Hashable, np.ndarray]:
    series: list[Any] = []
    for module in nwb.processing.values():
        for container in module.data_interfaces.values():
            for name in ("roi_response_series",):
                series.extend(getattr(container, name, {}).values())
    if not series:
        raise InputError("the file has no RoiResponseSeries (Fluorescence or DfOverF)")
    out: dict[Hashable, list[np.ndarray]] = {}
    for rrs in series:
        data = np.asarray(rrs.data[:], dtype=float)
        times = (
            rrs.timestamps[:]
            if rrs.timestamps is not None
            else (rrs.starting_time + np.arange(len(data)) / rrs.rate)
        )
        region = rrs.rois.table.imaging_plane.location
        means = np.empty((len(starts), data.shape[1]))
        for i, (t0, t1) in enumerate(zip(starts, stops, strict=True)):
            window = (times >= t0) & (times < t1)
            if not window.any():
                raise InputError(f"no imaging frame falls in presentation {i} ({t0}-{t1} s)")
            means[i] = data[window].mean(axis=0)
        out.setdefault(region, []).append(means)
    return {r: np.hstack(parts) for r, parts in out.items()}
