"""The evaluation spec: every choice a typed field, allowed values declared once and checked
wherever a spec is made (protocols, choices, saved evaluations)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import crossalign as ca
from crossalign.errors import InputError
from crossalign.evaluation.protocols import CONSTRAINTS, PROTOCOLS, Protocol, get_protocol
from crossalign.papers import HOEFLING2026


def test_every_choice_has_a_constraint_and_every_protocol_satisfies_it():
    names = set(Protocol("x", "y").choices()) | {"seed"}
    assert set(CONSTRAINTS) == names
    for name in PROTOCOLS:
        get_protocol(name)  # made (and checked) at import


@pytest.mark.parametrize(
    ("choice", "value", "message"),
    [
        ("similarity", "pearsn", r"'similarity' option must be one of .* Did you mean 'pearson'"),
        ("bootstrap", "fixed_subjects", r"'bootstrap' option must be one of \['fixed'"),
        ("outcome", "norm", r"'outcome' option must be one of"),
        ("partners", 0, r"'partners' option must be 'all' or a positive integer. Got 0"),
        ("partners", True, r"'partners' option must be 'all' or a positive integer. Got True"),
        ("ncsnr_threshold", "0.2", r"'ncsnr_threshold' option must be a finite number or None"),
        ("ncsnr_threshold", np.nan, r"'ncsnr_threshold' option must be a finite number"),
        ("include_same_region", 1, r"'include_same_region' option must be True/False. Got 1"),
        ("predictivity_seed", 1.5, r"'predictivity_seed' option must be an integer. Got 1.5"),
        ("fold_weights", "sizes", r"Did you mean 'size'"),
        ("rdm", "corelation", r"'rdm' option must be a registered RDM distance \(correlation"),
    ],
)
def test_a_bad_choice_is_refused_naming_it(choice, value, message):
    with pytest.raises(InputError, match=message):
        get_protocol("crossalign").with_choices(0, **{choice: value})
    with pytest.raises(InputError, match=message):
        dataclasses.replace(get_protocol("crossalign"), **{choice: value})


def test_choices_apply_over_the_protocol_and_unknown_names_suggest_the_closest():
    spec = get_protocol("hoefling2026").with_choices(7, metric="spearman", outcome=None)
    assert spec.metric == "spearman" and spec.seed == 7
    assert spec.outcome == "score" and spec.ceiling == "hoefling2026"  # None keeps the protocol's
    with pytest.raises(InputError, match=r"Unknown evaluation option\(s\) \['celing'\]; did you"):
        get_protocol("crossalign").with_choices(0, celing="nili2014")


def test_the_papers_choices_are_the_protocols():
    paper = get_protocol("hoefling2026")
    for name, value in HOEFLING2026.protocol.items():
        assert getattr(paper, name) == value
    assert paper.citation == HOEFLING2026.citation


def test_a_spec_round_trips_through_its_stored_form():
    metric = ca.get_metric("predictivity", alphas=(1.0, 10.0))
    spec = get_protocol("hoefling2026").with_choices(3, metric=metric, partners=2)
    back = Protocol.from_stored(spec.stored())
    assert back == spec


def test_a_misspelt_keyword_names_the_closest_one_everywhere_a_choice_is_given():
    """evaluate_model, Evaluation.fit and Protocol take the same choices; a misspelt one is
    refused naming the closest, and the refusal is still a TypeError."""
    from crossalign.errors import InputTypeError

    rng = np.random.default_rng(0)
    stimuli = [f"s{i}" for i in range(8)]
    brain = ca.BrainData.from_responses(
        {(f"sub{s}", f"R{r}"): rng.normal(size=(8, 4)) for s in range(3) for r in range(3)},
        stimuli=stimuli,
    )
    model = ca.ModelData.from_activations(
        {f"L{r}": rng.normal(size=(8, 5)) for r in range(3)}, stimuli=stimuli
    )
    with pytest.raises(
        InputTypeError,
        match=r"evaluate_model\(\) takes no keyword 'celing'; "
        r"did you mean 'ceiling'\?",
    ) as caught:
        ca.evaluate_model(model, brain, celing="nili2014")
    assert isinstance(caught.value, TypeError) and "'ncsnr_threshold'" in str(caught.value)
    with pytest.raises(InputError, match=r"\['celing'\]; did you mean 'ceiling'"):
        ca.Evaluation.fit(model, brain, celing="nili2014")
    with pytest.raises(
        InputTypeError,
        match=r"Protocol\(\) takes no keyword 'ncsnr'; did you "
        r"mean 'ncsnr_threshold'\?",
    ):
        Protocol("mine", "a lab's choices", ncsnr=0.2)
    with pytest.raises(InputTypeError, match=r"takes no keyword 'zzz'\. Its keywords"):
        ca.evaluate_model(model, brain, zzz=1)
    with pytest.raises(
        InputTypeError,
        match=r"takes no keywords \['celing', 'zzz', 'n_bootstrp'\]; did you mean 'ceiling' "
        r"for 'celing', 'n_bootstrap' for 'n_bootstrp'\?",
    ):
        ca.evaluate_model(model, brain, celing="nili2014", zzz=1, n_bootstrp=3)
    # the right keywords still reach the function
    done = ca.evaluate_model(model, brain, ceiling="nili2014", ncsnr_threshold=None, n_bootstrap=0)
    assert set(done["score"].dims) >= {"region"}


def test_keywords_checked_keeps_the_signature_and_passes_functions_taking_any_keyword():
    import inspect

    from crossalign._validation import keywords_checked

    def f(a, *, b=1):
        return a + b

    def g(a, **rest):
        return rest

    checked = keywords_checked(f)
    assert checked(1, b=2) == 3 and checked(a=1) == 2
    assert inspect.signature(checked) == inspect.signature(f)
    assert keywords_checked(g) is g
