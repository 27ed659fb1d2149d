"""APS against connectivity: equal to numpy from the definitions, on a planted case; the null
is reproducible with a seed; connectivity files are read by name, never guessed."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import io as sio
from scipy import stats

import crossalign as ca
from crossalign.errors import InputError

REGIONS = ["A", "B", "C", "D", "E", "F"]


def _world(seed=0, n=40, n_sub=5):
    """Subjects whose region r mixes latent sources with weights that follow row r of a
    connectivity matrix: regions wired strongly have similar representations."""
    rng = np.random.default_rng(seed)
    r = len(REGIONS)
    w = rng.uniform(0, 1, size=(r, r))
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0)
    latent = rng.normal(size=(r, n, 8))
    mix = w + np.eye(r) * 1.5
    regions = {q: np.einsum("k,knd->nd", mix[q], latent) for q in range(r)}
    brain = ca.BrainData.from_responses(
        {(f"s{s}", REGIONS[q]): regions[q] @ rng.normal(size=(8, 15))
         + 0.8 * rng.normal(size=(n, 15)) for s in range(n_sub) for q in range(r)},
        stimuli=[f"x{i}" for i in range(n)],
    )  # fmt: skip
    per_subject = np.stack([w + 0.05 * rng.normal(size=w.shape) for _ in range(3)])
    per_subject = (per_subject + per_subject.transpose(0, 2, 1)) / 2
    return rng, brain, per_subject


def _numpy_brain_aps(t, conn, similarity=stats.pearsonr):
    n_sub, n_reg = t.shape[:2]
    mean = conn.mean(0)
    out = np.zeros((n_reg, n_sub))
    for r in range(n_reg):
        qs = [q for q in range(n_reg) if q != r]
        ref = mean[r, qs]
        for s in range(n_sub):
            out[r, s] = np.mean(
                [similarity(ref, t[a, r, s, qs]).statistic for a in range(n_sub) if a != s]
            )
    return out


def test_brain_connectivity_aps_equals_numpy_on_a_planted_case():
    _rng, brain, conn = _world()
    labelled = xr.DataArray(
        conn,
        dims=("subject", "region", "target_region"),
        coords={"subject": ["c0", "c1", "c2"], "region": REGIONS, "target_region": REGIONS},
    )
    got = ca.connectivity_aps(brain, labelled, metric="pearson")
    t = ca.score_tensor(brain, metric="pearson").values
    np.testing.assert_allclose(got["aps"].values, _numpy_brain_aps(t, conn), atol=1e-10)
    assert float(got["mean"].mean()) > 0.5  # the patterns follow the wiring
    spear = ca.connectivity_aps(brain, labelled, metric="pearson", similarity="spearman")
    np.testing.assert_allclose(
        spear["aps"].values, _numpy_brain_aps(t, conn, stats.spearmanr), atol=1e-10
    )
    mse = ca.connectivity_aps(brain, labelled, metric="pearson", similarity="mse")
    expected = _numpy_brain_aps(
        t, conn, lambda x, y: type("R", (), {"statistic": 1 / (1 + np.mean((x - y) ** 2))})
    )
    np.testing.assert_allclose(mse["aps"].values, expected, atol=1e-10)
    # regions matched by name: a shuffled connectivity gives the same numbers
    order = [3, 0, 5, 1, 4, 2]
    shuffled = labelled.isel(region=order, target_region=order)
    again = ca.connectivity_aps(brain, shuffled, metric="pearson")
    np.testing.assert_allclose(again["aps"].values, got["aps"].values, atol=1e-12)


def test_the_null_is_reproducible_and_flags_the_planted_regions():
    _rng, brain, conn = _world(seed=1)
    first = ca.connectivity_aps(brain, conn[0], regions=REGIONS, n_random=200, seed=7)
    again = ca.connectivity_aps(brain, conn[0], regions=REGIONS, n_random=200, seed=7)
    other = ca.connectivity_aps(brain, conn[0], regions=REGIONS, n_random=200, seed=8)
    np.testing.assert_array_equal(first["null"].values, again["null"].values)
    assert not np.array_equal(first["null"].values, other["null"].values)
    low, high = np.percentile(first["null"].values, [2.5, 97.5], axis=0)
    np.testing.assert_allclose(first["low"].values, low)
    np.testing.assert_allclose(first["high"].values, high)
    assert (first["flag"].values == "above").sum() >= 4
    # every random matrix keeps the observed weights, symmetric, placed at random
    from crossalign.analysis.connectivity import random_connectivity

    for wr in random_connectivity(conn, 3, seed=0):
        for c in range(3):
            np.testing.assert_allclose(wr[c], wr[c].T)
            np.testing.assert_allclose(np.sort(wr[c].ravel()), np.sort(conn[c].ravel()))


def test_a_models_connectivity_aps_uses_its_chosen_layers():
    rng, brain, conn = _world(seed=2)
    stimuli = list(brain.stimuli)
    acts = {f"L{q}": brain[("s0", REGIONS[q])].values @ rng.normal(size=(15, 10))
            for q in range(len(REGIONS))}  # fmt: skip
    model = ca.ModelData.from_activations(acts, model="m", stimuli=stimuli)
    ev = ca.Evaluation.fit(
        model, brain, metric="pearson", train_stimuli=stimuli[:20], test_stimuli=stimuli[20:]
    )
    got = ca.connectivity_aps(ev, conn, regions=REGIONS)
    mean = conn.mean(0)
    for r, region in enumerate(REGIONS):
        qs = [q for q in range(len(REGIONS)) if q != r]
        layer = ev.layer_names.index(ev.layers[region])
        for s in range(len(ev.subjects)):
            expected = stats.pearsonr(mean[r, qs], ev.u[layer, s, qs]).statistic
            assert got["aps"].values[r, s] == pytest.approx(expected, abs=1e-10)
    assert got.attrs["target"] == "m"


def test_connectivity_files_are_read_by_name(tmp_path):
    _rng, brain, conn = _world(seed=3)
    reference = ca.connectivity_aps(brain, conn, regions=REGIONS)["aps"].values
    np.savez(tmp_path / "c.npz", connectivity=conn, regions=np.array(REGIONS))
    np.save(tmp_path / "c.npy", conn)
    sio.savemat(tmp_path / "c.mat", {"connectivity": conn})
    mean = conn.mean(0)
    header = "," + ",".join(REGIONS) + "\n"
    rows = "".join(
        f"{r}," + ",".join(repr(float(v)) for v in mean[i]) + "\n" for i, r in enumerate(REGIONS)
    )
    (tmp_path / "c.csv").write_text(header + rows)
    for name in ("c.npz", "c.npy", "c.mat"):
        regions = None if name == "c.npz" else REGIONS
        got = ca.connectivity_aps(brain, tmp_path / name, regions=regions)["aps"].values
        np.testing.assert_allclose(got, reference, atol=1e-12)
    got = ca.connectivity_aps(brain, tmp_path / "c.csv")["aps"].values
    np.testing.assert_allclose(got, reference, atol=1e-10)  # the mean matrix: same patterns
    with pytest.raises(InputError, match="no region names; give regions="):
        ca.connectivity_aps(brain, tmp_path / "c.npy")
    with pytest.raises(InputError, match=r"no region\(s\) \['F'\]"):
        ca.connectivity_aps(brain, conn[:, :5, :5], regions=REGIONS[:5])
    with pytest.raises(InputError, match="square"):
        ca.connectivity_aps(brain, conn[:, :, :4], regions=REGIONS)
    with pytest.raises(InputError, match="6 names \\(5 distinct\\)"):
        ca.connectivity_aps(brain, conn, regions=["A", "A", "C", "D", "E", "F"])
    bad = conn.copy()
    bad[0, 1, 2] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        ca.connectivity_aps(brain, bad, regions=REGIONS)
    with pytest.raises(InputError, match="'n_random'"):
        ca.connectivity_aps(brain, conn, regions=REGIONS, n_random=-1)
