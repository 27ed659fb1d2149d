"""MNE epochs in: conditions from event ids, trials as repetitions, channel picks as regions."""

import numpy as np
import pytest

from crossalign.analysis.temporal import rdm_movie
from crossalign.errors import InputError
from crossalign.io.epochs import from_epochs

mne = pytest.importorskip("mne")


def _epochs(seed=0, n_cond=4, n_trials=(3, 3, 2, 3), n_chan=6, n_time=15):
    rng = np.random.default_rng(seed)
    codes = np.concatenate([[k + 1] * n for k, n in enumerate(n_trials)])
    rng.shuffle(codes)
    data = rng.normal(size=(len(codes), n_chan, n_time))
    info = mne.create_info([f"MEG{i:03d}" for i in range(n_chan)], 100.0, "mag")
    events = np.stack([np.arange(len(codes)) * 200, np.zeros(len(codes), int), codes], 1)
    event_id = {f"c{k}": k + 1 for k in range(n_cond)}
    return (
        mne.EpochsArray(data, info, events, tmin=-0.05, event_id=event_id, verbose=False),
        data,
        codes,
    )


def test_conditions_trials_and_channel_picks_become_responses():
    epochs, data, codes = _epochs()
    regions = {"left": ["MEG000", "MEG001", "MEG002"], "right": ["MEG004", "MEG005"]}
    got = from_epochs(epochs, regions)
    assert got.conditions == ["c0", "c1", "c2", "c3"] and list(got.responses) == ["left", "right"]
    left = got.responses["left"]
    assert left.shape == (4, 3, 3, 15)
    trials_c2 = np.flatnonzero(codes == 3)
    np.testing.assert_array_equal(left[2, :, :2], data[trials_c2][:, :3].transpose(1, 0, 2))
    assert np.isnan(left[2, :, 2]).all()  # c2 has two trials
    np.testing.assert_allclose(got.times, np.arange(15) / 100.0 - 0.05)
    movie = rdm_movie(got.responses["right"], "cv_euclidean")
    assert movie.shape == (15, 6) and np.isfinite(movie).all()
    everything = from_epochs(epochs)
    assert everything.responses["all"].shape == (4, 6, 3, 15)


def test_unknown_channels_and_other_objects_are_refused():
    epochs, _, _ = _epochs()
    with pytest.raises(
        InputError,
        match=r"'regions' argument gives region 'v1' channels the epochs do not have: "
        r"\['EEG999'\]. Expected channel names of the epochs, e.g. \['MEG000'",
    ):
        from_epochs(epochs, {"v1": ["EEG999"]})
    with pytest.raises(InputError, match=r"must be MNE Epochs or EpochsArray. Got ndarray"):
        from_epochs(np.ones((3, 4, 5)))


@pytest.mark.slow  # over 0.5 s: rsatoolbox's import
def test_an_rsatoolbox_temporal_dataset_round_trips_with_regions_and_uneven_trials():
    """Trials (uneven per condition, in any order) in a TemporalDataset come back as the same
    arrays in (condition, channel, repetition, time) cubes, NaN where a condition has fewer
    trials, regions from a channel descriptor; their RDM movie equals rsatoolbox's
    calc_rdm_movie of the dataset."""
    pytest.importorskip("rsatoolbox")
    from rsatoolbox.data import TemporalDataset
    from rsatoolbox.rdm import calc_rdm_movie

    from crossalign.io.epochs import from_temporal_dataset

    rng = np.random.default_rng(0)
    n_cond, n_chan, n_time = 6, 5, 7
    reps = [3, 2, 3, 3, 1, 3]  # uneven trials per condition
    rows = [(c, rng.normal(size=(n_chan, n_time))) for c in range(n_cond) for _ in range(reps[c])]
    order = rng.permutation(len(rows))  # observations in any order
    td = TemporalDataset(
        np.stack([rows[i][1] for i in order]),
        obs_descriptors={"stim": np.array([f"c{rows[i][0]}" for i in order])},
        channel_descriptors={
            "name": [f"ch{j}" for j in range(n_chan)],
            "area": ["V1", "V1", "IT", "IT", "IT"],
        },
        time_descriptors={"time": np.arange(n_time) * 0.02 - 0.04},
    )
    got = from_temporal_dataset(td, condition="stim", region="area")
    assert set(got.responses) == {"V1", "IT"} and got.channels["IT"] == ["ch2", "ch3", "ch4"]
    np.testing.assert_allclose(got.times, np.arange(n_time) * 0.02 - 0.04)
    for k, name in enumerate(got.conditions):
        c = int(name[1:])
        mine = [rows[i][1] for i in order if rows[i][0] == c]  # this condition, in order
        cube = got.responses["IT"][k]  # (channel, repetition, time)
        np.testing.assert_array_equal(
            cube[:, : len(mine)].transpose(1, 0, 2), np.stack(mine)[:, 2:]
        )
        assert np.isnan(cube[:, len(mine) :]).all()
    theirs = calc_rdm_movie(
        td.subset_channel("area", "V1"), method="correlation", descriptor="stim"
    )
    order = [got.conditions.index(str(c)) for c in theirs.pattern_descriptors["stim"]]
    mean = np.nanmean(got.responses["V1"], axis=2)[order]  # (condition, channel, time)
    np.testing.assert_allclose(rdm_movie(mean, "correlation"), theirs.dissimilarities, atol=1e-10)
    with pytest.raises(ValueError, match=r"observation descriptor 'conds'"):
        from_temporal_dataset(td)
    with pytest.raises(ValueError, match=r"channel descriptor 'region'.*\['area', 'name'\]"):
        from_temporal_dataset(td, condition="stim", region="region")
