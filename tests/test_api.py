"""The public API: exported names exist; the seed's functions keep the seed's arguments."""

import inspect

import pytest

import crossalign as ca
import crossalign.functional as caf

SEED_SIGNATURES = {
    "collect_multi_region_data": ["subjects", "regions", "stimuli", "loader"],
    "collect_model_responses": ["models", "stimuli", "layers_by_region"],
    "compute_rdm": ["responses", "metric"],
    "compute_alignment_score": ["rdm1", "rdm2", "method"],
    "compute_cross_region_alignment": ["data_dict", "regions"],
    "compare_alignment_patterns": ["brain_matrix", "model_matrices", "region_names"],
    "identify_best_layers": ["model", "regions", "brain_data", "stimuli"],
    "validate_model_comprehensive": ["model", "brain_data", "stimuli", "regions"],
    "compare_model_paradigms": ["models_by_paradigm", "brain_data", "stimuli", "regions"],
}


def test_every_exported_name_exists():
    missing = [name for name in ca.__all__ if not hasattr(ca, name)]
    assert missing == []


@pytest.mark.parametrize(("name", "params"), SEED_SIGNATURES.items())
def test_seed_functions_keep_seed_arguments(name, params):
    sig = inspect.signature(getattr(caf, name))
    positional = [
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert positional[: len(params)] == params
    assert getattr(caf, name).__doc__


@pytest.mark.parametrize("name", SEED_SIGNATURES)
def test_function_level_api_lives_in_its_own_module(name):
    assert name not in ca.__all__ and name in caf.__all__
    assert not hasattr(ca, name)  # one place: crossalign.functional (no deprecated second way)


def test_defaults_of_the_seed():
    assert inspect.signature(caf.compute_rdm).parameters["metric"].default == "correlation"
    assert inspect.signature(caf.compute_alignment_score).parameters["method"].default == "spearman"
    assert inspect.signature(caf.compare_alignment_patterns).parameters["threshold"].default == 0.5


def test_public_functions_are_typed_and_documented():
    for name in ca.__all__:
        obj = getattr(ca, name)
        if inspect.isfunction(obj):
            assert obj.__doc__, f"{name} has no docstring"
            assert inspect.signature(obj).return_annotation is not inspect.Signature.empty, name
