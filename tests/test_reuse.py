"""Studies say how many runs they reused from the store; ``--rerun`` trains them again."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from actlab.cli import main
from actlab.store import Store
from actlab.studies import CompareSpec
from actlab.studies.compare import compare_tasks, run_compare
from actlab.studies.runner import reuse_or_rerun

COMPARE = ["compare", "--dataset", "digits", "--activations", "relu,tanh", "--seeds", "2", "--epochs", "1",
           "--hidden", "8", "--workers", "1", "--no-progress"]


def _invoke(tmp_path, args):
    result = CliRunner().invoke(main, [*args, "--store", str(tmp_path / "s.db"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    return result.output


def _line(text):
    m = re.search(r"(\d+) of (\d+) runs reused from (\S+?)(?:;|\s)", text)
    return None if m is None else (int(m.group(1)), int(m.group(2)), m.group(3))


def test_compare_says_how_many_runs_it_reused_and_rerun_trains_them_again(tmp_path):
    store = Store(tmp_path / "s.db")
    first = _invoke(tmp_path, COMPARE)
    assert _line(first)[:2] == (0, 4)
    updated = {r["key"]: r["updated"] for r in store.runs()}
    assert len(updated) == 4
    # a larger study over the same store: 4 of its 6 runs are the first study's
    second = _invoke(tmp_path, [a if a != "relu,tanh" else "relu,tanh,elu" for a in COMPARE])
    reused, total, path = _line(second)
    assert (reused, total) == (4, 6) and path == str(store.path)
    assert "--rerun to train them again" in second
    assert {r["key"]: r["updated"] for r in store.runs() if r["key"] in updated} == updated   # untouched
    # --rerun: every run trained again, the stored results overwritten (new 'updated', status done)
    third = _invoke(tmp_path, [*COMPARE, "--rerun"])
    assert "4 runs trained again (--rerun)" in third and _line(third) is None
    recs = {r["key"]: r for r in store.runs()}
    assert all(recs[k]["status"] == "done" and recs[k]["updated"] > t for k, t in updated.items())
    assert all(recs[k]["attempts"] >= 2 for k in updated)


def test_reuse_or_rerun_counts_distinct_runs_and_leaves_other_studies_tags(tmp_path):
    store = Store(tmp_path / "s.db")
    spec = CompareSpec(activations="relu", seeds=2, dataset="digits", hidden="8", epochs=1, name="a").resolved()
    result = run_compare(spec, store=store, workers=1, progress=False)
    assert result.reuse == (0, 2)
    tasks = compare_tasks(spec) * 2                      # the same runs twice: counted once
    assert reuse_or_rerun(tasks, store) == (2, 2)
    assert reuse_or_rerun(tasks, store, rerun=True) == (0, 2)
    assert {r["status"] for r in store.runs()} == {"failed"}          # to be trained again
    assert all(store.tags(r["key"]) == ["a"] for r in store.runs())  # still part of their study
    again = run_compare(spec, store=store, workers=1, progress=False)
    assert again.reuse == (0, 2) and {r["status"] for r in again.records} == {"done"}
    assert run_compare(spec, store=store, workers=1, progress=False).reuse == (2, 2)


@pytest.mark.parametrize("args", [
    ["depth", "--depths", "1", "--seeds", "1", "--epochs", "1", "--width", "8", "--activations", "relu",
     "--probe", "20", "--workers", "1", "--no-progress"],
    ["dying", "--lrs", "0.1", "--seeds", "1", "--epochs", "1", "--hidden", "8", "--activations", "relu",
     "--probe", "20", "--workers", "1", "--no-progress"],
    ["boundary", "--datasets", "circle", "--activations", "relu", "--epochs", "2", "--samples", "40",
     "--workers", "1", "--no-progress"],
])
def test_the_studies_say_it_too(tmp_path, args):
    assert _line(_invoke(tmp_path, args))[:2] == (0, 1)
    assert _line(_invoke(tmp_path, args))[:2] == (1, 1)
    assert "1 runs trained again (--rerun)" in _invoke(tmp_path, [*args, "--rerun"])
