"""Brain data with missing (subject, region) cells: every statistic equals a slow twin that
skips exactly the pairs involving the missing cells (written from the definitions with scipy,
not from crossalign's kernels)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import pdist

import crossalign as ca

SUBJECTS = ["s1", "s2", "s3", "s4", "s5"]
REGIONS = ["V1", "V2", "V4", "IT"]
MISSING = [("s2", "V4"), ("s5", "V1")]
N = 16


def _rdm(x):
    return pdist(x, "correlation")


@pytest.fixture
def world():
    rng = np.random.default_rng(7)
    shared = rng.normal(size=(N, 6))
    responses = {}
    for s, r in itertools.product(SUBJECTS, REGIONS):
        if (s, r) in MISSING:
            continue
        mix = rng.normal(size=(6, 10))
        responses[(s, r)] = shared @ mix + rng.normal(size=(N, 10)) * (1 + REGIONS.index(r))
    layers = {
        f"l{k}": shared @ rng.normal(size=(6, 12)) + rng.normal(size=(N, 12)) for k in range(3)
    }
    return responses, layers


def _score(x, y):
    return stats.spearmanr(_rdm(x), _rdm(y))[0]


def _corr(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    return stats.pearsonr(x[ok], y[ok])[0] if ok.sum() >= 3 else np.nan


def _twin_brain_aps(responses):
    """APS_brain(r, s) from the definition, over existing cells only."""

    def t(a, r, b, q):
        if (a, r) in responses and (b, q) in responses:
            return _score(responses[(a, r)], responses[(b, q)])
        return np.nan

    out = np.full((len(REGIONS), len(SUBJECTS)), np.nan)
    for (i, r), (j, s) in itertools.product(enumerate(REGIONS), enumerate(SUBJECTS)):
        others = [a for a in SUBJECTS if a != s]
        ref = []
        for q in REGIONS:
            vals = [t(a, r, b, q) for a in others for b in others if a != b]
            vals = [v for v in vals if np.isfinite(v)]
            ref.append(np.mean(vals) if vals else np.nan)
        cs = [_corr(ref, [t(a, r, s, q) for q in REGIONS]) for a in others if (a, r) in responses]
        out[i, j] = np.mean(cs)
    return out


def _twin_model_aps(responses, layers, assignment):
    out = np.full((len(REGIONS), len(SUBJECTS)), np.nan)
    for (i, r), (j, s) in itertools.product(enumerate(REGIONS), enumerate(SUBJECTS)):
        feat = layers[assignment[r]]
        model_ap = [
            _score(feat, responses[(s, q)]) if (s, q) in responses else np.nan for q in REGIONS
        ]
        cs = []
        for a in SUBJECTS:
            if a == s or (a, r) not in responses:
                continue
            brain_ap = [
                _score(responses[(a, r)], responses[(s, q)]) if (s, q) in responses else np.nan
                for q in REGIONS
            ]
            cs.append(_corr(model_ap, brain_ap))
        out[i, j] = np.mean(cs)
    return out


def test_brain_aps_skips_exactly_the_missing_pairs(world):
    responses, _ = world
    brain = ca.BrainData.from_responses(responses)
    got = ca.brain_aps(brain, "spearman").sel(region=REGIONS, subject=SUBJECTS).values
    np.testing.assert_allclose(got, _twin_brain_aps(responses), atol=1e-12)
    # on a complete grid the masked kernels equal the dense ones
    from crossalign.analysis import aps

    full = dict(responses)
    for s, r in MISSING:
        full[(s, r)] = np.random.default_rng(1).normal(size=(N, 10))
    t = ca.brain_patterns(ca.BrainData.from_responses(full), "spearman").values
    sel = aps._selection(len(REGIONS), True)
    tsel = np.take_along_axis(t, sel[None, :, None, :], axis=3)
    valid = ~np.eye(len(SUBJECTS), dtype=bool)
    cells = np.ones((len(SUBJECTS), len(REGIONS)), dtype=bool)
    for similarity in ("pearson", "spearman"):
        dense = aps.brain_aps_kernel(t, similarity=similarity)
        masked = aps._brain_aps_masked(tsel, valid, cells, similarity)
        np.testing.assert_allclose(masked, dense, atol=1e-13)


def test_model_aps_skips_exactly_the_missing_pairs(world):
    responses, layers = world
    brain = ca.BrainData.from_responses(responses)
    model = ca.ModelData.from_activations(layers, model="net")
    assignment = {"V1": "l0", "V2": "l1", "V4": "l1", "IT": "l2"}
    got = ca.model_aps(model, brain, assignment, metric="spearman", protocol="crossalign")
    got = got.sel(region=REGIONS, subject=SUBJECTS).values
    np.testing.assert_allclose(got, _twin_model_aps(responses, layers, assignment), atol=1e-12)


def test_cross_region_matrix_and_noise_ceiling_over_existing_pairs(world):
    responses, _ = world
    brain = ca.BrainData.from_responses(responses)
    c = ca.cross_region_matrix(brain, "spearman")
    for r, q in itertools.product(REGIONS, REGIONS):
        vals = [
            _score(responses[(a, r)], responses[(b, q)])
            for a in SUBJECTS
            for b in SUBJECTS
            if a != b and (a, r) in responses and (b, q) in responses
        ]
        assert c.sel(region=r, target_region=q).item() == pytest.approx(np.mean(vals), abs=1e-12)
        assert c.attrs["n_pairs"][REGIONS.index(r)][REGIONS.index(q)] == len(vals)
    ceiling = ca.noise_ceiling(brain, "spearman")
    for r in REGIONS:
        have = [s for s in SUBJECTS if (s, r) in responses]
        rdms = {s: _rdm(responses[(s, r)]) for s in have}
        lower = np.mean(
            [
                stats.spearmanr(np.mean([rdms[o] for o in have if o != s], 0), rdms[s])[0]
                for s in have
            ]
        )
        upper = np.mean(
            [stats.spearmanr(np.mean(list(rdms.values()), 0), rdms[s])[0] for s in have]
        )
        assert ceiling.sel(region=r, bound="lower").item() == pytest.approx(lower, abs=1e-12)
        assert ceiling.sel(region=r, bound="upper").item() == pytest.approx(upper, abs=1e-12)
    assert ceiling.attrs["subjects_per_region"] == [4, 5, 4, 5]


def test_evaluation_bootstrap_and_rows_with_missing_cells(world):
    responses, layers = world
    brain = ca.BrainData.from_responses(responses)
    model = ca.ModelData.from_activations(layers, model="net")
    result = ca.evaluate_model(
        model, brain, metric="spearman", n_bootstrap=100, seed=0, test_fraction=0.5
    )
    # the statistics are finite: missing cells are skipped, not propagated
    assert np.isfinite(result["aps_mean"].values).all()
    assert np.isfinite(result["brain_aps_mean"].values).all()
    assert np.isfinite(result["aps_low"].values).all()
    assert np.isfinite(result["brain_aps_high"].values).all()
    # the held-out subject lacking a region has a NaN score there, never a number
    score = result["score"].sel(region="V4", subject="s2").item()
    assert np.isnan(score)
