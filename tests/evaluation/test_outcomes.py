"""Ceiling-normalised outcomes (Hoefling et al. 2026's published analysis): per-subject upper
and lower ceilings, normalised scores, patterns and layer selection, against numpy computed
from the definitions, on synthetic subjects whose units are aligned (as grayordinates are)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import crossalign as ca
from crossalign.errors import InputError
from crossalign.stats.ceilings import partner_pairs

N_SUB, REGIONS, N_STIM, N_TRAIN = 5, ["V1", "V2", "MT", "IPS"], 28, 14


def world(seed=0):
    """Each region a read-out of shared latents, the same units in every subject plus
    subject noise; the model's layers are noisy copies of the regions."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(N_STIM, 6))
    readout = {r: rng.normal(size=(6, 10)) for r in REGIONS}
    brain = {
        (f"s{s}", r): latent @ readout[r] + (0.6 + 0.2 * s) * rng.normal(size=(N_STIM, 10))
        for s in range(N_SUB)
        for r in REGIONS
    }
    layers = {f"L{i}": latent @ readout[r] @ rng.normal(size=(10, 8)) + i * rng.normal(
        size=(N_STIM, 8)) for i, r in enumerate(REGIONS)}  # fmt: skip
    ids = [f"x{i:02d}" for i in range(N_STIM)]
    data = ca.BrainData.from_responses(brain, stimuli=ids)
    model = ca.ModelData.from_activations(layers, model="m", stimuli=ids)
    return brain, layers, data, model, ids


def rsa(x, y):
    iu = np.triu_indices(len(x), 1)
    return stats.pearsonr((1 - np.corrcoef(x))[iu], (1 - np.corrcoef(y))[iu]).statistic


def twin_ceilings(brain, rows, score, pairs):
    """upper(r, s): the others' unit-wise mean response predicting s; lower(r, s): the mean
    over s's partners a of a predicting s."""
    upper = np.zeros((len(REGIONS), N_SUB))
    lower = np.zeros((len(REGIONS), N_SUB))
    for i, r in enumerate(REGIONS):
        for s in range(N_SUB):
            pool = np.mean([brain[(f"s{a}", r)][rows] for a in range(N_SUB) if a != s], axis=0)
            upper[i, s] = score(pool, brain[(f"s{s}", r)][rows])
            lower[i, s] = np.mean(
                [score(brain[(f"s{a}", r)][rows], brain[(f"s{s}", r)][rows])
                 for a in range(N_SUB) if pairs[a, s]]
            )  # fmt: skip
    return lower, upper


@pytest.mark.parametrize("partners", ["all", 2])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_rsa_ceilings_outcomes_and_selection_equal_numpy(partners):
    brain, layers, data, model, ids = world()
    train, test = ids[:N_TRAIN], ids[N_TRAIN:]
    pairs = partner_pairs(N_SUB, partners, seed=3)
    te, tr = slice(N_TRAIN, None), slice(0, N_TRAIN)
    lower, upper = twin_ceilings(brain, te, rsa, pairs)
    for outcome, bound in (("norm_lower", lower), ("norm_upper", upper), ("score", None)):
        ev = ca.evaluate_model(
            model, data, metric="pearson", train_stimuli=train, test_stimuli=test,
            outcome=outcome, partners=partners, seed=3, n_bootstrap=50,
        )  # fmt: skip
        # selection: argmax over layers of the training mean of the outcome
        tl, tu = twin_ceilings(brain, tr, rsa, pairs)
        train_bound = {"norm_lower": tl, "norm_upper": tu, "score": np.ones_like(tl)}[outcome]
        for i, r in enumerate(REGIONS):
            means = [
                np.mean([rsa(layers[la][tr], brain[(f"s{s}", r)][tr]) / train_bound[i, s]
                         for s in range(N_SUB)])
                for la in layers
            ]  # fmt: skip
            assert str(ev["layer"].values[i]) == list(layers)[int(np.argmax(means))]
            layer = str(ev["layer"].values[i])
            raw = np.array([rsa(layers[layer][te], brain[(f"s{s}", r)][te]) for s in range(N_SUB)])
            np.testing.assert_allclose(ev["raw_score"].values[i], raw, atol=1e-10)
            expected = raw if bound is None else raw / bound[i]
            np.testing.assert_allclose(ev["score"].values[i], expected, atol=1e-10)
        if bound is not None:
            np.testing.assert_allclose(ev["subject_ceiling"].sel(bound="lower"), lower, atol=1e-10)
            np.testing.assert_allclose(ev["subject_ceiling"].sel(bound="upper"), upper, atol=1e-10)
        assert ev.attrs["outcome"] == outcome and ev.attrs["partners"] == str(partners)


def test_normalised_patterns_give_the_aps():
    """APS on the outcome: every pattern entry divided by the ceiling of the predicted
    (region, subject), then the usual APS kernels."""
    brain, _layers, data, model, ids = world(seed=1)
    train, test = ids[:N_TRAIN], ids[N_TRAIN:]
    ev = ca.Evaluation.fit(model, data, metric="pearson", train_stimuli=train,
                           test_stimuli=test, outcome="norm_lower")  # fmt: skip
    te = slice(N_TRAIN, None)
    lower, _ = twin_ceilings(brain, te, rsa, ~np.eye(N_SUB, dtype=bool))
    t = np.array([[[[rsa(brain[(f"s{a}", r)][te], brain[(f"s{b}", q)][te]) / lower[j, b]
                     for j, q in enumerate(REGIONS)] for b in range(N_SUB)]
                   for r in REGIONS] for a in range(N_SUB)])  # fmt: skip
    np.testing.assert_allclose(ev.t, t, atol=1e-10)
    from crossalign.analysis.aps import brain_aps_kernel

    np.testing.assert_allclose(ev.values()[2], brain_aps_kernel(t), atol=1e-10)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_predictivity_ceilings_and_outcome_equal_numpy():
    brain, layers, data, model, ids = world(seed=2)
    train, test = ids[:N_TRAIN], ids[N_TRAIN:]
    ev = ca.Evaluation.fit(model, data, metric="predictivity", train_stimuli=train,
                           test_stimuli=test, outcome="norm_upper", partners=3, seed=1)  # fmt: skip
    metric = ev.metric
    pairs = partner_pairs(N_SUB, 3, seed=1)
    rows = slice(N_TRAIN, None)
    lower, upper = twin_ceilings(brain, rows, metric.score, pairs)
    np.testing.assert_allclose(ev.subject_ceiling[0], lower, atol=1e-10)
    np.testing.assert_allclose(ev.subject_ceiling[1], upper, atol=1e-10)
    score = ev.values()[0]
    for i, r in enumerate(REGIONS):
        layer = ev.layers[r]
        for s in range(N_SUB):
            raw = metric.score(layers[layer][rows], brain[(f"s{s}", r)][rows])
            assert score[i, s] == pytest.approx(raw / upper[i, s], abs=1e-10)
    # the brain's patterns keep only partner pairs
    off = ~np.eye(N_SUB, dtype=bool)
    by_pair = ev.t.transpose(0, 2, 1, 3)  # (a, s, r, q)
    assert np.isnan(by_pair[off & ~pairs]).all() and np.isfinite(by_pair[pairs]).all()


def test_partners_are_seeded_and_checked():
    a, b = partner_pairs(10, 5, seed=0), partner_pairs(10, 5, seed=0)
    np.testing.assert_array_equal(a, b)
    assert (a.sum(axis=0) == 5).all() and not a.diagonal().any() and a.sum() == 50
    with pytest.raises(InputError, match="'partners'"):
        partner_pairs(10, 10)
    _, _, data, model, _ids = world()
    with pytest.raises(InputError, match="'outcome'"):
        ca.Evaluation.fit(model, data, outcome="normalised")
    with pytest.raises(InputError, match="did you mean 'outcome'"):
        ca.Evaluation.fit(model, data, outcom="norm_lower")
    with pytest.raises(InputError, match="bootstrap='stimuli'"):
        ca.evaluate_model(model, data, outcome="norm_lower", bootstrap="stimuli", n_bootstrap=10)


def test_a_lower_ceiling_near_zero_is_warned():
    rng = np.random.default_rng(0)
    ids = [f"x{i}" for i in range(20)]
    noise = ca.BrainData.from_responses(
        {(f"s{s}", r): rng.normal(size=(20, 6)) for s in range(4) for r in ("A", "B", "C")},
        stimuli=ids,
    )
    model = ca.ModelData.from_activations({"L": rng.normal(size=(20, 5))}, model="m",
                                          stimuli=ids)  # fmt: skip
    with pytest.warns(ca.ReliabilityWarning, match="near or below 0"):
        ca.Evaluation.fit(model, noise, outcome="norm_lower", train_stimuli=ids[:10],
                          test_stimuli=ids[10:])  # fmt: skip


def test_per_subject_noise_ceiling():
    brain, _layers, data, _model, _ids = world()
    per = ca.noise_ceiling(data, "pearson", definition="hoefling2026", per_subject=True)
    assert per.dims == ("bound", "region", "subject")
    lower, upper = twin_ceilings(brain, slice(None), rsa, ~np.eye(N_SUB, dtype=bool))
    np.testing.assert_allclose(per.sel(bound="lower").values, lower, atol=1e-10)
    np.testing.assert_allclose(per.sel(bound="upper").values, upper, atol=1e-10)
    region = ca.noise_ceiling(data, "pearson", definition="hoefling2026")
    np.testing.assert_allclose(region.sel(bound="upper").values, upper.mean(1), atol=1e-10)
    with pytest.raises(InputError, match="per_subject"):
        ca.noise_ceiling(data, "pearson", per_subject=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ca.noise_ceiling(data, "pearson", definition="hoefling2026", per_subject=True)


def test_partner_designs_give_the_aps_of_their_pairs():
    """With k partners per target: Ref[-s](r) averages the partner pairs a->b with a, b != s,
    and APS(r, s) averages over s's partners a (brain) or compares with them (model)."""
    _brain, _layers, data, model, ids = world(seed=4)
    ev = ca.Evaluation.fit(model, data, metric="pearson", train_stimuli=ids[:N_TRAIN],
                           test_stimuli=ids[N_TRAIN:], partners=2, seed=5)  # fmt: skip
    pairs = partner_pairs(N_SUB, 2, seed=5)
    full = ca.score_tensor(data.subset_stimuli(ids[N_TRAIN:]), metric="pearson").values
    li = [ev.layer_names.index(ev.layers[r]) for r in REGIONS]
    brain = np.zeros((len(REGIONS), N_SUB))
    model_aps = np.zeros((len(REGIONS), N_SUB))
    for r in range(len(REGIONS)):
        for s in range(N_SUB):
            ref = np.mean([full[a, r, b] for a in range(N_SUB) for b in range(N_SUB)
                           if pairs[a, b] and s not in (a, b)], axis=0)  # fmt: skip
            sources = [a for a in range(N_SUB) if pairs[a, s]]
            brain[r, s] = np.mean([stats.pearsonr(ref, full[a, r, s]).statistic for a in sources])
            model_aps[r, s] = np.mean(
                [stats.pearsonr(ev.u[li[r], s], full[a, r, s]).statistic for a in sources]
            )
    values = ev.values()
    np.testing.assert_allclose(values[2], brain, atol=1e-10)
    np.testing.assert_allclose(values[1], model_aps, atol=1e-10)


def _ncsnr(x):
    """Allen et al. 2022 from its definition: z-score each unit over all presentations, noise
    SD from the variance over repeats, signal SD = sqrt(max(0, 1 - noise^2))."""
    z = (x - x.mean(axis=(0, 2), keepdims=True)) / x.std(axis=(0, 2), keepdims=True)
    noise = np.sqrt(np.mean(np.var(z, axis=2, ddof=1), axis=0))
    return np.sqrt(np.maximum(0, 1 - noise**2)) / noise


def test_the_upper_pool_keeps_the_units_reliable_on_average_over_the_others():
    """With an NCSNR filter, the paper's leave-one-out pool averages the others' responses
    over the grayordinates whose NCSNR, averaged over them, passes the threshold; the
    predicted subject keeps its own reliable grayordinates."""
    rng = np.random.default_rng(6)
    n, units, reps = 30, 40, 3
    latent = rng.normal(size=(n, 5))
    weights = {r: rng.normal(size=(5, units)) for r in REGIONS}
    noise = rng.uniform(0.3, 3.0, size=units)  # grayordinates differ in reliability
    resp = {
        (f"s{s}", r): (latent @ weights[r])[:, :, None]
        + noise[None, :, None] * rng.normal(size=(n, units, reps))
        for s in range(N_SUB)
        for r in REGIONS
    }
    ids = [f"x{i:02d}" for i in range(n)]
    data = ca.BrainData.from_responses(resp, stimuli=ids)
    model = ca.ModelData.from_activations({"L": latent @ rng.normal(size=(5, 7))}, model="m",
                                          stimuli=ids)  # fmt: skip
    train, test = ids[:15], ids[15:]
    ev = ca.Evaluation.fit(model, data, metric="pearson", train_stimuli=train, test_stimuli=test,
                           ncsnr_threshold=0.6, outcome="norm_upper")  # fmt: skip
    te = slice(15, None)
    for i, r in enumerate(REGIONS):
        snr = {s: _ncsnr(resp[(f"s{s}", r)]) for s in range(N_SUB)}
        mean = {s: resp[(f"s{s}", r)].mean(axis=2) for s in range(N_SUB)}
        for s in range(N_SUB):
            others = [a for a in range(N_SUB) if a != s]
            keep = np.mean([snr[a] for a in others], axis=0) >= 0.6
            assert 0 < keep.sum() < units
            pool = np.mean([mean[a][te] for a in others], axis=0)[:, keep]
            own = mean[s][te][:, snr[s] >= 0.6]
            assert ev.subject_ceiling[1, i, s] == pytest.approx(rsa(pool, own), abs=1e-10)
