"""The Evaluation: one split, one layer selection, and everything computed from them; the
function-level API as a thin layer over it (a dataset's fixed split is honoured everywhere)."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca
from crossalign.analysis.patterns import cross_region_matrix
from crossalign.functional import compare_model_paradigms, validate_model_comprehensive

from ..analysis.test_aps import synthetic_world


@pytest.fixture(scope="module")
def world():
    rng, latent, regions, stimuli, brain = synthetic_world(seed=3, n=40, n_sub=5, n_reg=4)
    acts = {
        f"L{r}": latent[r] @ rng.normal(size=(6, 16)) + 0.5 * rng.normal(size=(40, 16))
        for r in range(4)
    }
    model = ca.ModelData.from_activations(acts, model="m", stimuli=stimuli)
    return brain, model, regions, stimuli


def _with_split(brain, train, test):
    fixed = brain.select(areas=list(brain.regions))
    fixed.attrs["split"] = {"train": list(train), "test": list(test)}
    return fixed


def test_fit_honours_a_fixed_split(world):
    brain, model, _regions, stimuli = world
    fixed = _with_split(brain, stimuli[12:], stimuli[:12])
    ev = ca.Evaluation.fit(model, fixed, seed=5)
    assert ev.test == stimuli[:12] and ev.train == stimuli[12:]
    seeded = ca.Evaluation.fit(model, brain, seed=5)
    assert sorted(seeded.test) != sorted(stimuli[:12])  # without it, a seeded half


def test_validate_model_comprehensive_uses_the_fixed_split_28_12(world):
    """The case the issue measured: a fixed split of 28/12 stimuli gave a random test half."""
    brain, model, regions, stimuli = world
    train, test = stimuli[:28], stimuli[28:]
    fixed = _with_split(brain, train, test)
    report = validate_model_comprehensive(model, fixed, stimuli, regions, n_permutations=50)
    assert report["split"]["test"] == test and report["split"]["train"] == train
    assert report["split"]["source"] == "the dataset's fixed split"
    # the numbers are the evaluation's on that split
    ev = ca.Evaluation.fit(model, fixed)
    assert report["selected_layers"] == ev.layers
    expected = np.nanmean(ev.values()[0], axis=1)
    got = [report["within_region_alignment"][r] for r in ev.regions]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_the_report_matrices_equal_the_definitions_on_the_test_stimuli(world):
    brain, model, regions, stimuli = world
    report = validate_model_comprehensive(model, brain, stimuli, regions, n_permutations=50)
    test = report["split"]["test"]
    direct = cross_region_matrix(brain.subset_stimuli(test), "spearman")
    ev = ca.Evaluation.fit(model, brain)
    brain_values, _ = ev.region_matrices()
    np.testing.assert_allclose(brain_values, direct.values, atol=1e-12)


def test_a_paradigm_summary_uses_one_split_and_computes_each_model_once(world):
    brain, model, regions, stimuli = world
    calls = {"n": 0}
    acts = {layer: model[("m", layer)].values for layer in model.layers()}

    def net(images):
        calls["n"] += 1
        return acts

    net.name = "net"
    fixed = _with_split(brain, stimuli[:30], stimuli[30:])
    results = compare_model_paradigms(
        {"p": [net]}, fixed, stimuli, regions, n_bootstrap=50, n_permutations=50
    )
    assert calls["n"] == 1
    report = results["p"]["models"]["net"]
    evaluation = results["p"]["evaluations"]["net"]
    assert report["split"]["test"] == stimuli[30:]
    assert list(evaluation["test_stimulus"].values) == stimuli[30:]
    assert (
        dict(zip(evaluation["region"].values, evaluation["layer"].values, strict=True))
        == (report["selected_layers"])
    )


def test_unknown_paradigm_options_are_refused_by_name(world):
    brain, model, regions, stimuli = world
    with pytest.raises(ca.errors.InputError, match=r"Unknown option\(s\) \['n_boot'\]"):
        compare_model_paradigms({"p": [model]}, brain, stimuli, regions, n_boot=10)


def test_methods_and_their_modules_give_the_same_numbers(world, tmp_path):
    """Evaluation's methods delegate to resampling and persistence: the same values, and a
    saved evaluation reloads to the same statistics."""
    brain, model, _regions, _stimuli = world
    ev = ca.Evaluation.fit(model, brain, seed=2)
    boot = ev.bootstrap(200, "fixed")
    again = ca.Evaluation.load(ev.save(tmp_path / "ev.nc"))
    np.testing.assert_array_equal(again.values(), ev.values())
    np.testing.assert_array_equal(again.bootstrap(200, "fixed")["samples"], boot["samples"])


@pytest.mark.parametrize("protocol", ["crossalign", "hoefling2026"])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_models_evaluated_against_the_same_brain_share_its_side(world, monkeypatch, protocol):
    """Under one execution context, the brain's score tensor is computed once for every model
    evaluated against the same brain data, also when the protocol filters units by NCSNR
    first (a new container); the memo lives in the context, never in the user's object."""
    import crossalign.evaluation.core as core

    brain, model, _, stimuli = world
    fixed = _with_split(brain, stimuli[:30], stimuli[30:])
    calls = []
    real = core.score_tensor

    def counted(data, other=None, **kwargs):
        calls.append(isinstance(data, ca.BrainData) and other is None)
        return real(data, other, **kwargs)

    monkeypatch.setattr(core, "score_tensor", counted)
    other = ca.ModelData.from_activations(
        {layer: model[("m", layer)].values[::-1] for layer in model.layers()},
        model="m2",
        stimuli=stimuli,
    )
    before = dict(vars(fixed))
    with ca.using(ca.Context.from_options()) as ctx:
        first = core.Evaluation.fit(model, fixed, protocol=protocol, metric="pearson")
        second = core.Evaluation.fit(other, fixed, protocol=protocol, metric="pearson")
    assert sum(calls) == 1  # the brain tensor, once
    assert len(ctx.memos) >= 1 and vars(fixed).keys() == before.keys()
    np.testing.assert_array_equal(first.t, second.t)
    core.Evaluation.fit(other, fixed, protocol=protocol, metric="pearson")  # a context of its own
    assert sum(calls) == 2
