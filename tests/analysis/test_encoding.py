"""Encoding models against scikit-learn and linear predictivity, and the leakage rules of
subjects held out."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca
from crossalign.errors import InputError

linear_model = pytest.importorskip("sklearn.linear_model")
model_selection = pytest.importorskip("sklearn.model_selection")

REGIONS = ["V1", "V2", "IT"]
N, N_TRAIN, N_SUB = 60, 40, 4


def world(seed=0, aligned=True):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(N, 6))
    readout = {r: rng.normal(size=(6, 12)) for r in REGIONS}
    brain = {
        (f"s{s}", r): latent @ readout[r] + rng.normal(size=(N, 12))
        if aligned
        else latent @ rng.normal(size=(6, 8 + s)) + rng.normal(size=(N, 8 + s))
        for s in range(N_SUB)
        for r in REGIONS
    }
    ids = [f"x{i:02d}" for i in range(N)]
    layers = {
        "early": latent @ rng.normal(size=(6, 9)) + 2.0 * rng.normal(size=(N, 9)),
        "late": latent @ rng.normal(size=(6, 15)) + 0.2 * rng.normal(size=(N, 15)),
    }
    model = ca.ModelData.from_activations(layers, model="net", stimuli=ids)
    return brain, layers, ca.BrainData.from_responses(brain, stimuli=ids), model, ids


def z(x, rows):
    sd = x[rows].std(0)
    return (x - x[rows].mean(0)) / np.where(sd == 0, 1, sd)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_predictions_equal_scikit_learns_ridge_with_ridgecvs_alpha():
    brain, layers, data, model, ids = world()
    enc = ca.EncodingModel(cv=5, seed=3, store_coef=True).fit(model, data, stimuli=ids[:N_TRAIN])
    predicted = enc.predict(ids[N_TRAIN:])  # the features given to fit hold every stimulus
    assert predicted.attrs["predicted_by"] == "net"
    np.testing.assert_array_equal(
        enc.predict(model, ids[N_TRAIN:])[("s0", "V1")].values, predicted[("s0", "V1")].values
    )
    tr = slice(0, N_TRAIN)
    for (s, r), y in brain.items():
        layer = enc.layer_[r]
        x = z(layers[layer], tr)
        yz = z(y, tr)
        cv = model_selection.KFold(5, shuffle=True, random_state=3)
        alpha = linear_model.RidgeCV(alphas=enc.alphas, cv=cv).fit(x[tr], yz[tr]).alpha_
        assert float(enc.alpha_.sel(subject=s, region=r)) == alpha
        ridge = linear_model.Ridge(alpha=alpha).fit(x[tr], yz[tr])
        expected = ridge.predict(x[N_TRAIN:]) * y[tr].std(0) + y[tr].mean(0)
        np.testing.assert_allclose(predicted[(s, r)].values, expected, atol=1e-8)
        np.testing.assert_allclose(enc.coef_[(s, r)][0], ridge.coef_.T, atol=1e-8)
    assert enc.layer_ == {"V1": "late", "V2": "late", "IT": "late"}


def test_fold_models_give_the_predictivity_score_of_the_split():
    _brain, _layers, data, model, ids = world(seed=1)
    enc = ca.EncodingModel(refit=False, seed=1, layers={r: "early" for r in REGIONS})
    enc.fit(model, data, stimuli=ids[:N_TRAIN])
    got = enc.score(data, ids[N_TRAIN:])
    metric = ca.get_metric(
        "predictivity", test="train-fitted", seed=1,
        split=(tuple(range(N_TRAIN)), tuple(range(N_TRAIN, N))),
    )  # fmt: skip
    for s in data.subjects:
        for r in REGIONS:
            expected = metric.score(model[("net", "early")].values, data[(s, r)].values)
            assert float(got.sel(subject=s, region=r)) == pytest.approx(expected, abs=1e-10)
    assert enc.alpha_.dims == ("fold", "subject", "region")


def test_a_model_for_a_held_out_subject_never_sees_its_data():
    brain, _layers, data, model, ids = world(seed=2)
    train = ids[:N_TRAIN]
    enc = ca.EncodingModel().fit(model, data, stimuli=train, subjects="others")
    before = enc.predict(model)
    # change everything subject s0 measured and every test response: the model for s0 and
    # every prediction stay the same (no s0 data and no test stimulus enter its fit)
    changed = {k: v.copy() for k, v in brain.items()}
    for (s, _r), v in changed.items():
        v[N_TRAIN:] += 100.0
        if s == "s0":
            v[:] = np.random.default_rng(9).normal(size=v.shape)
    again = ca.EncodingModel(subjects="others").fit(
        model, ca.BrainData.from_responses(changed, stimuli=ids), stimuli=train
    )
    after = again.predict(model)
    for r in REGIONS:
        np.testing.assert_array_equal(before[("s0", r)].values, after[("s0", r)].values)
        assert not np.allclose(before[("s1", r)].values, after[("s1", r)].values)
    insilico = enc.as_model(model, name="brainnet")
    assert insilico.attrs["held_out"]["s0"] == "brainnet|s0"
    assert insilico.layers("brainnet|s0") == REGIONS
    with pytest.raises(InputError, match="same units"):
        unaligned = world(seed=2, aligned=False)[2]
        ca.EncodingModel(subjects="others").fit(model, unaligned, stimuli=train)


def test_encoding_models_refuse_what_they_cannot_fit():
    _brain, _layers, data, model, ids = world()
    with pytest.raises(InputError, match="not fitted"):
        ca.EncodingModel().predict(model)
    with pytest.raises(InputError, match="'cv'"):
        ca.EncodingModel(cv=1)
    with pytest.raises(InputError, match="'alphas'"):
        ca.EncodingModel(alphas=[0.0, 1.0])
    with pytest.raises(InputError, match="names \\['deep'\\]"):
        ca.EncodingModel(layers=["deep"]).fit(model, data, stimuli=ids[:N_TRAIN])
    enc = ca.EncodingModel().fit(model, data, stimuli=ids[:N_TRAIN])
    with pytest.raises(InputError, match="held-out"):
        enc.score(model, data, ids[:10])


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_an_in_silico_brain_is_evaluated_like_any_model():
    """A planted case: regions are read-outs of shared latent features plus subject noise.
    The brain-predictive model's pointwise scores approach the noise ceiling, and its
    cross-region matrix and APS are computed like any model's; with subjects held out, each
    subject is scored against the model fitted without it."""
    _brain, _layers, data, model, ids = world(seed=4)
    train, test = ids[:N_TRAIN], ids[N_TRAIN:]
    for subjects in ("each", "others"):
        enc = ca.EncodingModel(subjects=subjects).fit(model, data, stimuli=train)
        insilico = enc.as_model(model, name="brainnet")
        ev = ca.evaluate_model(insilico, data, metric="pearson", test_stimuli=test,
                               n_bootstrap=100)  # fmt: skip
        assert list(ev["layer"].values) == REGIONS  # each region stands for itself
        ceiling = ev["ceiling"].sel(bound="upper").values
        assert (ev["score_mean"].values > 0.8 * ceiling).all()
        assert np.isfinite(ev["aps"].values).all() and ev["model_matrix"].shape == (3, 3)
        assert ev.attrs["model"] == "brainnet"
    # held out: subject s1's score uses the s1 model's region prediction
    evaluation = ca.Evaluation.fit(insilico, data, metric="pearson", test_stimuli=test)
    s1 = insilico.select(["brainnet|s1"]).subset_stimuli(test)
    measured = data.subset_stimuli(test)[("s1", "V2")].values
    expected = ca.score(s1[("brainnet|s1", "V2")].values, measured, metric="pearson")
    assert evaluation.u[evaluation.layer_names.index("V2"), 1, 1] == pytest.approx(expected)


def test_an_in_silico_brain_is_never_scored_on_its_training_stimuli():
    _brain, _layers, data, model, ids = world(seed=5)
    insilico = ca.EncodingModel().fit(model, data, stimuli=ids[:N_TRAIN]).as_model(model)
    ev = ca.Evaluation.fit(insilico, data, metric="pearson")  # default: the unseen stimuli
    assert ev.test == ids[N_TRAIN:]
    with pytest.raises(InputError, match="fitted on brain responses to 5 of the test stimuli"):
        ca.Evaluation.fit(insilico, data, test_stimuli=ids[N_TRAIN - 5 :])
