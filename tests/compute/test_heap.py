"""The allocator's policy for large arrays: freed blocks reused, not mapped again."""

import ctypes
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import crossalign.cli
from crossalign.compute import heap


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "mallopt")
    except OSError:
        return False


#: A 64 MB block made, written and freed 20 times; prints the page faults that took (a
#: bytearray: NumPy asks for transparent huge pages, which fault in fewer, larger pieces)
LOOP = """
import resource, sys
from crossalign.compute.heap import keep_large_blocks
applied = keep_large_blocks() if sys.argv[1] == "keep" else False
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    block = bytearray(64_000_000)
    del block
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k not in heap.ALLOCATOR_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", LOOP, mode], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    applied, faults = done.stdout.split()
    return applied, int(faults)


@pytest.mark.slow  # two child processes that import crossalign
@pytest.mark.skipif(not _glibc(), reason="the policy is glibc's (Linux)")
def test_freed_large_blocks_are_reused_instead_of_faulted_in_again():
    applied, kept = _faults("keep")
    _, mapped = _faults("default")
    assert applied == "True"
    # each fresh mapping faults in 64 MB / 4 KiB = 15,625 pages: 20 times without the policy,
    # once with it
    assert mapped > 15 * 15_625, mapped
    assert kept < 2 * 15_625, kept


@pytest.mark.parametrize("variable", heap.ALLOCATOR_VARIABLES)
def test_a_policy_the_user_chose_is_left_alone(monkeypatch, variable):
    monkeypatch.setenv(variable, "0")
    calls = []
    monkeypatch.setattr(heap.ctypes, "CDLL", lambda *a: calls.append(a))
    assert heap.keep_large_blocks() is False
    assert calls == []


def test_other_platforms_are_left_alone(monkeypatch):
    for variable in heap.ALLOCATOR_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(heap.sys, "platform", "darwin")
    assert heap.keep_large_blocks() is False


def test_a_c_library_without_mallopt_is_left_alone(monkeypatch):
    for variable in heap.ALLOCATOR_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(heap.sys, "platform", "linux")
    monkeypatch.setattr(heap.ctypes, "CDLL", lambda *a: object())  # musl: no mallopt
    assert heap.keep_large_blocks() is False


def test_the_command_line_sets_the_policy(monkeypatch):
    calls = []
    monkeypatch.setattr(crossalign.cli, "keep_large_blocks", lambda: calls.append(1) or True)
    result = CliRunner().invoke(crossalign.cli.app, ["metrics", "--json"])
    assert result.exit_code == 0, result.output
    assert calls == [1]
