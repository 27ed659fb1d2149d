"""The execution context: made from the options or by the caller, passed on explicitly,
its memories shared where asked and never carried to another process."""

from __future__ import annotations

import gc
import pickle

import numpy as np
import pytest

import crossalign as ca
from crossalign.compute.backends import get_backend
from crossalign.compute.context import Context, Memos, current_context, using


class _Owner:
    """A stand-in for a container (weak-referenceable)."""


def test_memos_compute_once_per_owner_and_key_and_stay_bounded():
    memos, calls = Memos(capacity=2), []

    def make(tag):
        return lambda: calls.append(tag) or tag

    a, b, c = _Owner(), _Owner(), _Owner()
    assert memos.get(a, "x", 1, make("a1")) == "a1"
    assert memos.get(a, "x", 1, make("again")) == "a1"  # kept
    assert memos.get(a, "x", 2, make("a2")) == "a2"  # another key: recomputed, replaces
    assert memos.get(a, "x", 1, make("a1'")) == "a1'"
    memos.get(b, "x", 1, make("b"))
    memos.get(c, "x", 1, make("c"))  # third entry: the least recently used (a) goes
    assert len(memos) == 2
    assert memos.get(a, "x", 1, make("a1''")) == "a1''"
    assert calls == ["a1", "a2", "a1'", "b", "c", "a1''"]


def test_a_memo_never_serves_a_new_object_at_a_freed_objects_id(monkeypatch):
    import crossalign.compute.context as module

    monkeypatch.setattr(module, "id", lambda obj: 42, raising=False)  # every object: one id
    memos = Memos()
    owner = _Owner()
    assert memos.get(owner, "x", 0, lambda: "old") == "old"
    assert memos.get(owner, "x", 0, lambda: "again") == "old"
    del owner
    gc.collect()
    assert memos.get(_Owner(), "x", 0, lambda: "new") == "new"  # the id again, another object


def test_contexts_come_from_the_options_and_share_memories_across_backends():
    with ca.options(dtype="float32", memory_budget="3GB"):
        ctx = Context.from_options()
    assert ctx.dtype == "float32" and ctx.budget() == 3 * 10**9
    assert ctx.backend is get_backend("numpy")
    if "torch:cpu" in ca.backends.installed():
        on = ctx.on("torch:cpu")
        assert on.backend.name == "torch:cpu" and on.penalties is ctx.penalties
        assert on.memos is ctx.memos
    assert ctx.on("numpy") is ctx
    with pytest.raises(ca.errors.InputError, match=r"backend 'nope'|'nope'"):
        ctx.on("nope")


def test_using_nests_and_restores():
    outer, inner = Context(get_backend("numpy")), Context(get_backend("numpy"), dtype="float32")
    assert current_context() is not outer  # none in use: one made for the call
    with using(outer):
        assert current_context() is outer
        with using(inner):
            assert current_context() is inner
        assert current_context() is outer
    assert current_context() is not outer


def test_a_context_reaches_another_process_without_its_memories():
    ctx = Context(get_backend("numpy"), dtype="float32", memory_budget=10**9, cluster="tcp://x")
    ctx.penalties.put(b"k", np.array([1]))
    back = pickle.loads(pickle.dumps(ctx))
    assert (back.backend, back.dtype, back.memory_budget) == (ctx.backend, "float32", 10**9)
    assert back.cluster is None and len(back.penalties) == 0 and back.recorder is None
    recording = pickle.loads(pickle.dumps(Context(get_backend("numpy"), recorder=[1, 2])))
    assert recording.recorder == []  # still recording there, from nothing


def test_the_dtype_travels_with_the_context_into_the_kernels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 40))
    v64 = ca.compute.rdm.rdm_vectors(x, ctx=Context(get_backend("numpy")))
    v32 = ca.compute.rdm.rdm_vectors(x, ctx=Context(get_backend("numpy"), dtype="float32"))
    assert 0 < np.abs(v64 - v32).max() < 1e-5  # single precision products, float64 out
    with using(Context(get_backend("numpy"), dtype="float32")):
        np.testing.assert_array_equal(ca.compute.rdm.rdm_vectors(x), v32)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "numpy"}, r"'backend' argument of Context must be a Backend .* Got 'numpy'"),
        ({"dtype": "float16"}, r"'dtype' argument of Context must be 'float32' or 'float64'"),
        ({"memory_budget": 0}, r"'memory_budget' argument of Context must be a positive"),
        ({"memory_budget": "4GB"}, r"'memory_budget' .* Got '4GB'"),
    ],
)
def test_a_context_made_by_hand_is_checked(kwargs, message):
    args = {"backend": get_backend("numpy"), **kwargs}
    with pytest.raises(ca.errors.InputError, match=message):
        Context(**args)
