"""``protocol="hoefling2026"`` against an independent implementation of the paper's protocol,
written here from its formulas with numpy, scipy and scikit-learn (no crossalign code path):
scores, layer choices, APS, bootstrap CIs and equivalence verdicts, for RSA and for linear
predictivity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold

import crossalign as ca

N_SUB, N_REG, N_TRAIN, N_TEST, UNITS = 4, 4, 30, 15, 12
ALPHAS = np.logspace(0, 9, 19)


# ---------------------------------------------------------------------- the twin
def rsa(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of the upper triangles of 1 - Pearson RDMs."""
    iu = np.triu_indices(len(x), k=1)
    return stats.pearsonr((1 - np.corrcoef(x))[iu], (1 - np.corrcoef(y))[iu])[0]


def lp(x_train, y_train, x_test=None, y_test=None) -> float:
    """The paper's linear predictivity: z-score with training statistics, KFold(5, shuffle,
    seed 1), RidgeCV over logspace(0, 9, 19). Without test data: the size-weighted
    cross-validated R^2 on the training stimuli; with: the mean over the fold models of R^2
    on the test stimuli."""
    mx, sx, my, sy = x_train.mean(0), x_train.std(0), y_train.mean(0), y_train.std(0)
    xz, yz = (x_train - mx) / sx, (y_train - my) / sy
    cv, test = [], []
    for fit, held in KFold(5, shuffle=True, random_state=1).split(xz):
        model = RidgeCV(alphas=ALPHAS).fit(xz[fit], yz[fit])
        cv.append(model.score(xz[held], yz[held]) * len(held))
        if x_test is not None:
            test.append(model.score((x_test - mx) / sx, (y_test - my) / sy))
    return float(np.sum(cv) / len(xz)) if x_test is None else float(np.mean(test))


def twin(brain: dict, model: dict, metric: str, n_boot: int) -> dict:
    """Every number of the paper's test for one model, from the formulas."""
    tr, te = slice(0, N_TRAIN), slice(N_TRAIN, None)

    def test_score(a: np.ndarray, b: np.ndarray) -> float:
        return rsa(a[te], b[te]) if metric == "pearson" else lp(a[tr], b[tr], a[te], b[te])

    def train_score(a: np.ndarray, b: np.ndarray) -> float:
        return rsa(a[tr], b[tr]) if metric == "pearson" else lp(a[tr], b[tr])

    layers = sorted(model)
    profile = np.array(
        [
            [
                np.mean([train_score(model[la], brain[(s, r)]) for s in range(N_SUB)])
                for r in range(N_REG)
            ]
            for la in layers
        ]
    )
    chosen = [layers[i] for i in profile.argmax(axis=0)]
    t = np.full((N_SUB, N_REG, N_SUB, N_REG), np.nan)
    for a in range(N_SUB):
        for b in range(N_SUB):
            if a != b:
                for r in range(N_REG):
                    for q in range(N_REG):
                        t[a, r, b, q] = test_score(brain[(a, r)], brain[(b, q)])
    u = {
        la: np.array(
            [[test_score(model[la], brain[(s, q)]) for q in range(N_REG)] for s in range(N_SUB)]
        )
        for la in set(chosen)
    }
    score = np.array([[u[chosen[r]][s, r] for s in range(N_SUB)] for r in range(N_REG)])
    brain_aps = np.empty((N_REG, N_SUB))
    model_aps = np.empty((N_REG, N_SUB))
    for r in range(N_REG):
        for s in range(N_SUB):
            others = [a for a in range(N_SUB) if a != s]
            ref = np.mean([t[a, r, b] for a in others for b in others if a != b], axis=0)
            brain_aps[r, s] = np.mean([stats.pearsonr(ref, t[a, r, s])[0] for a in others])
            model_aps[r, s] = np.mean(
                [stats.pearsonr(u[chosen[r]][s], t[a, r, s])[0] for a in others]
            )
    values = {"score": score, "aps": model_aps, "brain_aps": brain_aps}
    out = {"layers": chosen}
    for name, v in values.items():
        boots = np.array(
            [
                v[:, np.random.default_rng(b).choice(N_SUB, N_SUB, replace=True)].mean(axis=1)
                for b in range(n_boot)
            ]
        )
        out[name] = v
        out[f"{name}_mean"] = v.mean(axis=1)
        out[f"{name}_low"], out[f"{name}_high"] = np.percentile(boots, [2.5, 97.5], axis=0)
    return out


# ---------------------------------------------------------------------- data
def world(seed: int = 0):
    """Subjects share region-specific latent structure; the model's layers mirror regions
    with noise, one model well and one poorly."""
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    latent = rng.normal(size=(n, 6))
    mixing = [rng.normal(size=(6, UNITS)) * (rng.random(6) > 0.4)[:, None] for _ in range(N_REG)]
    brain = {
        (s, r): latent @ mixing[r] + 0.8 * rng.normal(size=(n, UNITS))
        for s in range(N_SUB)
        for r in range(N_REG)
    }
    good = {f"l{k}": latent @ mixing[k] + 0.3 * rng.normal(size=(n, UNITS)) for k in range(3)}
    poor = {f"l{k}": rng.normal(size=(n, UNITS)) + 0.2 * latent @ mixing[k] for k in range(3)}
    return brain, {"good": good, "poor": poor}


def crossalign_evaluation(brain: dict, model: dict, name: str, metric: str, n_boot: int):
    ids = [f"stim{i:02d}" for i in range(N_TRAIN + N_TEST)]
    data = ca.BrainData.from_responses(brain, stimuli=ids)
    md = ca.ModelData.from_activations(model, model=name, stimuli=ids)
    return ca.evaluate_model(
        md,
        data,
        metric=metric,
        protocol="hoefling2026",
        train_stimuli=ids[:N_TRAIN],
        test_stimuli=ids[N_TRAIN:],
        n_bootstrap=n_boot,
    )


@pytest.fixture(scope="module")
def results():
    brain, models = world()
    out = {}
    for metric in ("pearson", "predictivity"):
        for name, model in models.items():
            out[(metric, name)] = (
                crossalign_evaluation(brain, model, name, metric, 200),
                twin(brain, model, metric, 200),
            )
    return out


@pytest.mark.parametrize("metric", ["pearson", "predictivity"])
@pytest.mark.parametrize("name", ["good", "poor"])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_scores_layers_aps_and_cis_equal_the_twin(results, metric, name):
    ev, ref = results[(metric, name)]
    assert [str(x) for x in ev["layer"].values] == ref["layers"]
    for var in ("score", "aps", "brain_aps"):
        np.testing.assert_allclose(ev[var].values, ref[var], atol=1e-6, rtol=0)
        for part in ("mean", "low", "high"):
            np.testing.assert_allclose(
                ev[f"{var}_{part}"].values, ref[f"{var}_{part}"], atol=1e-6, rtol=0
            )
    assert ev.attrs["protocol"] == "hoefling2026" and ev.attrs["bootstrap"] == "fixed"


@pytest.mark.parametrize("metric", ["pearson", "predictivity"])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_equivalence_verdicts_equal_the_twin(results, metric):
    evs = {name: results[(metric, name)][0] for name in ("good", "poor")}
    refs = {name: results[(metric, name)][1] for name in ("good", "poor")}
    crit = ca.double_criterion(evs)
    for r in range(N_REG):
        for stat in ("score", "aps"):
            means = {k: v[f"{stat}_mean"][r] for k, v in refs.items()}
            best = max(means, key=means.get)
            for k in refs:
                expected = means[k] >= refs[best][f"{stat}_low"][r]
                got = bool(crit[f"{stat}_equivalent"].isel(region=r).sel(model=k))
                assert got == expected


@pytest.mark.slow  # shares the module's 11 s evaluations: in make test
def test_the_good_model_beats_the_poor_one(results):
    """Not a tautology: the planted structure shows in the numbers."""
    for metric in ("pearson", "predictivity"):
        good, poor = results[(metric, "good")][0], results[(metric, "poor")][0]
        assert float(good["score_mean"].mean()) > float(poor["score_mean"].mean())


@pytest.mark.slow  # shares the module's 11 s evaluations: in make test
def test_every_protocol_choice_is_an_option(results):
    """The default protocol differs from the paper's exactly where the table says."""
    brain, models = world()
    ids = [f"stim{i:02d}" for i in range(N_TRAIN + N_TEST)]
    data = ca.BrainData.from_responses(brain, stimuli=ids)
    md = ca.ModelData.from_activations(models["good"], model="good", stimuli=ids)
    split = {"train_stimuli": ids[:N_TRAIN], "test_stimuli": ids[N_TRAIN:]}
    paper = results[("predictivity", "good")][0]
    by_options = ca.evaluate_model(
        md,
        data,
        metric="predictivity",
        bootstrap="fixed",
        predictivity_test="train-fitted",
        predictivity_seed=1,
        fold_weights="size",
        n_bootstrap=200,
        **split,
    )
    for var in ("score_mean", "aps_low", "brain_aps_high"):
        np.testing.assert_allclose(by_options[var].values, paper[var].values, atol=1e-12)
    default = ca.evaluate_model(md, data, metric="predictivity", n_bootstrap=0, **split)
    assert not np.allclose(default["score"].values, paper["score"].values)


@pytest.mark.slow  # shares the module's 11 s evaluations: in make test
def test_evaluation_save_and_load_give_the_same_statistics(results, tmp_path):
    brain, models = world()
    ids = [f"stim{i:02d}" for i in range(N_TRAIN + N_TEST)]
    data = ca.BrainData.from_responses(brain, stimuli=ids)
    md = ca.ModelData.from_activations(models["good"], model="good", stimuli=ids)
    ev = ca.Evaluation.fit(
        md, data, protocol="hoefling2026", train_stimuli=ids[:N_TRAIN], test_stimuli=ids[N_TRAIN:]
    )
    loaded = ca.Evaluation.load(ev.save(tmp_path / "ev.nc"))
    a, b = ev.to_dataset(100), loaded.to_dataset(100)
    for var in ("score", "aps_low", "brain_aps_high", "model_matrix", "layer_profile"):
        np.testing.assert_array_equal(a[var].values, b[var].values)
    assert loaded.layers == ev.layers and loaded.test == ev.test


@pytest.mark.slow  # shares the module's 11 s evaluations: in make test
def test_paper_noise_ceiling_and_per_subject_normalisation(results):
    """hoefling2026 ceilings: lower = mean pairwise score of different subjects, upper =
    the leave-one-out pool of the others (the RDM of the others' mean responses, as the
    paper's intersubject_consistency.py pools them), scores normalised per subject."""
    brain, _ = world()
    te = slice(N_TRAIN, None)
    iu = np.triu_indices(N_TEST, k=1)
    rdms = {k: 1 - np.corrcoef(v[te]) for k, v in brain.items()}
    ev = results[("pearson", "good")][0]
    for r in range(N_REG):
        lower = np.mean(
            [
                rsa(brain[(a, r)][te], brain[(b, r)][te])
                for a in range(N_SUB)
                for b in range(N_SUB)
                if a != b
            ]
        )
        upper_s = [
            stats.pearsonr(
                (1 - np.corrcoef(np.mean([brain[(a, r)][te] for a in range(N_SUB) if a != s], 0)))[
                    iu
                ],
                rdms[(s, r)][iu],
            )[0]
            for s in range(N_SUB)
        ]
        ceiling = ev["ceiling"].isel(region=r)
        assert float(ceiling.sel(bound="lower")) == pytest.approx(lower, abs=1e-10)
        assert float(ceiling.sel(bound="upper")) == pytest.approx(np.mean(upper_s), abs=1e-10)
        normalised = np.mean(ev["score"].isel(region=r).values / np.array(upper_s))
        assert float(ev["score_normalised"].isel(region=r)) == pytest.approx(normalised, abs=1e-10)
    assert ev.attrs["ceiling_definition"] == "hoefling2026"


def test_paired_comparison_equals_the_twin():
    brain, models = world()
    ids = [f"stim{i:02d}" for i in range(N_TRAIN + N_TEST)]
    data = ca.BrainData.from_responses(brain, stimuli=ids)
    split = {"train_stimuli": ids[:N_TRAIN], "test_stimuli": ids[N_TRAIN:]}
    evs = {
        name: ca.Evaluation.fit(
            ca.ModelData.from_activations(m, model=name, stimuli=ids),
            data,
            protocol="hoefling2026",
            **split,
        )
        for name, m in models.items()
    }
    cmp = evs["good"].compare(evs["poor"], n_bootstrap=300, n_permutations=1000)
    refs = {name: twin(brain, m, "pearson", 1) for name, m in models.items()}
    for i, stat in enumerate(("score", "aps")):
        d = refs["good"][stat] - refs["poor"][stat]  # (R, S)
        np.testing.assert_allclose(cmp["difference"].values[i], d.mean(axis=1), atol=1e-10)
        boots = np.array(
            [
                d[:, np.random.default_rng(b).choice(N_SUB, N_SUB, replace=True)].mean(axis=1)
                for b in range(300)
            ]
        )
        low, high = np.percentile(boots, [2.5, 97.5], axis=0)
        np.testing.assert_allclose(cmp["low"].values[i], low, atol=1e-10)
        np.testing.assert_allclose(cmp["high"].values[i], high, atol=1e-10)
        signs = np.array(list(itertools.product([1, -1], repeat=N_SUB)))  # all 16 patterns
        null = np.abs((d[:, None, :] * signs[None]).mean(axis=2))  # (R, 16)
        p = (null >= np.abs(d.mean(axis=1))[:, None] - 1e-12).mean(axis=1)
        np.testing.assert_allclose(cmp["p_value"].values[i], p, atol=1e-12)
        # the mean over regions: each subject's mean difference, resampled and sign-flipped
        dm = d.mean(axis=0)  # (S,)
        np.testing.assert_allclose(cmp["mean_difference"].values[i], dm.mean(), atol=1e-10)
        boots_m = [dm[np.random.default_rng(b).choice(N_SUB, N_SUB)].mean() for b in range(300)]
        np.testing.assert_allclose(
            [cmp["mean_low"].values[i], cmp["mean_high"].values[i]],
            np.percentile(boots_m, [2.5, 97.5]),
            atol=1e-10,
        )
        null_m = np.abs((dm[None] * signs).mean(axis=1))
        p_m = (null_m >= abs(dm.mean()) - 1e-12).mean()
        np.testing.assert_allclose(cmp["mean_p_value"].values[i], p_m, atol=1e-12)
    assert cmp.attrs["exact"] and cmp.attrs["n_permutations"] == 16
