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
