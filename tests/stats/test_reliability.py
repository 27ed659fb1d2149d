"""NCSNR (Allen et al. 2022) against a slow twin written from the definition, and the voxel
filter built on it."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca
from crossalign.stats.reliability import ncsnr, reliable_units


def slow_ncsnr(x: np.ndarray) -> np.ndarray:
    """Loops over units and stimuli: z-score each unit over its presentations, average the
    across-repeat variances (ddof 1) over stimuli shown twice or more."""
    out = np.empty(x.shape[1])
    for u in range(x.shape[1]):
        values = x[:, u, :]
        finite = values[np.isfinite(values)]
        z = (values - finite.mean()) / finite.std()
        variances = []
        for row in z:
            row = row[np.isfinite(row)]
            if len(row) >= 2:
                variances.append(np.var(row, ddof=1))
        noise = np.sqrt(np.mean(variances))
        out[u] = np.sqrt(max(0.0, 1.0 - noise**2)) / noise
    return out


@pytest.fixture
def repeats(rng):
    signal = rng.normal(size=(40, 1)) * np.array([2.0, 1.0, 0.3, 0.0, 5.0])[None]
    x = signal[:, :, None] + rng.normal(size=(40, 5, 3))
    x[3, 1, 2] = np.nan  # a missing repeat
    x[7, :, 1:] = np.nan  # a stimulus shown once
    return x


def test_ncsnr_equals_the_definition(repeats):
    np.testing.assert_allclose(ncsnr(repeats), slow_ncsnr(repeats), rtol=1e-12)


def test_ncsnr_orders_units_by_their_planted_signal(repeats):
    snr = ncsnr(repeats)
    assert snr[4] > snr[0] > snr[1] > snr[2] and snr[3] < 0.35


def test_reliable_units_keeps_exactly_the_units_above_threshold(rng):
    signal = rng.normal(size=(30, 1)) * np.array([3.0, 0.0, 2.0, 0.0])[None]
    entries = {
        (s, r): signal[:, :, None] + rng.normal(size=(30, 4, 4))
        for s in ("a", "b")
        for r in ("V1", "V2")
    }
    data = ca.BrainData.from_responses(entries)
    kept = reliable_units(data, threshold=0.5)
    for key, x in entries.items():
        keep = ncsnr(x) >= 0.5
        np.testing.assert_array_equal(kept[key].values, x[:, keep])
        assert keep.tolist() == [True, False, True, False]
    with pytest.raises(ca.errors.InputError, match=r"No unit of \('a', 'V1'\) reaches NCSNR 50"):
        reliable_units(data, threshold=50)


def test_the_paper_protocol_filters_units_by_ncsnr(rng):
    """With repeats, protocol="hoefling2026" scores only the units with NCSNR >= 0.2; the
    default protocol keeps all."""
    stimuli = [f"s{i}" for i in range(24)]
    latent = rng.normal(size=(24, 3)) * 2
    entries = {}
    for s in ("a", "b", "c"):
        for r in ("V1", "V2", "V3"):
            signal = latent @ rng.normal(size=(3, 6))
            signal[:, 3:] = 0.0  # the last three units hold noise only
            entries[(s, r)] = signal[:, :, None] + 0.5 * rng.normal(size=(24, 6, 3))
    brain = ca.BrainData.from_responses(entries, stimuli=stimuli)
    model = ca.ModelData.from_activations(
        {"l": latent @ rng.normal(size=(3, 8))}, model="m", stimuli=stimuli
    )
    split = {"train_stimuli": stimuli[:12], "test_stimuli": stimuli[12:]}
    paper = ca.Evaluation.fit(model, brain, protocol="hoefling2026", **split)
    filtered = reliable_units(brain, 0.2)
    kept = {k: int((ncsnr(entries[k]) >= 0.2).sum()) for k in entries}
    assert all(filtered[k].shape[1] == kept[k] for k in entries)
    assert all(3 <= n < 6 for n in kept.values())  # the signal units, not all the noise
    by_hand = ca.Evaluation.fit(
        model, filtered, protocol="hoefling2026", ncsnr_threshold=None, **split
    )
    np.testing.assert_array_equal(paper.values(), by_hand.values())
    default = ca.Evaluation.fit(model, brain, **split)
    assert not np.allclose(default.values()[0], paper.values()[0])
