"""``actlab runs list | export`` and ``actlab report --all`` on a store filled by hand (no training)."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from actlab.cli import main
from actlab.store import Store


def _fill(path, n, study="hand"):
    store = Store(path)
    store.define_study(study, "hand-made", {})
    for seed in range(n):
        cfg = {"study": study, "group": study, "seed": seed, "model": {"hidden": "4", "activation": {"name": "relu"}},
               "data": {"name": "digits"}, "train": {"epochs": 1}}
        key = Store.key(Store.normalize(cfg))
        assert store.claim(key, cfg)
        store.tag(key, study)
        store.finish(key, "done", history={"epoch": [1], "loss": [0.5], "accuracy": [0.8],
                                          "val_loss": [0.6], "val_accuracy": [0.75], "seconds": [0.1]})
    store.close()
    return path


@pytest.fixture
def store_path(tmp_path):
    return _fill(tmp_path / "runs.sqlite", 7)


def test_runs_list_says_when_it_shows_fewer_than_all(store_path):
    res = CliRunner().invoke(main, ["runs", "list", "--limit", "3", "--store", str(store_path)])
    assert res.exit_code == 0, res.output
    assert "showing the 3 most recent of 7 runs; --limit 0 shows all" in res.output
    res = CliRunner().invoke(main, ["runs", "list", "--limit", "0", "--store", str(store_path)])
    assert res.exit_code == 0 and "showing" not in res.output and "7 runs" in res.output
    res = CliRunner().invoke(main, ["runs", "list", "--limit", "7", "--store", str(store_path)])
    assert res.exit_code == 0 and "showing" not in res.output


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_runs_export_writes_to_stdout_without_o(store_path, fmt):
    res = CliRunner().invoke(main, ["runs", "export", "--format", fmt, "--store", str(store_path)])
    assert res.exit_code == 0, res.output
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(res.stdout)))
        assert len(rows) == 7 and {r["test_accuracy"] for r in rows} == {"0.75"}
    else:
        recs = json.loads(res.stdout)
        assert len(recs) == 7 and all(r["studies"] == ["hand"] for r in recs)
    assert "written" not in res.stdout


def test_runs_export_to_a_file_says_so_on_stderr(store_path, tmp_path):
    out = tmp_path / "x.csv"
    res = CliRunner().invoke(main, ["runs", "export", "-o", str(out), "--store", str(store_path)])
    assert res.exit_code == 0 and res.stdout == ""
    assert "7 runs written to" in res.stderr and len(out.read_text().splitlines()) == 8


def test_report_all_writes_an_index_linking_every_report(tmp_path):
    store_path = _fill(tmp_path / "runs.sqlite", 2, study="first")
    _fill(store_path, 3, study="second/half")     # a name that is no folder name
    out = tmp_path / "reports"
    res = CliRunner().invoke(main, ["report", "--all", "-o", str(out), "--store", str(store_path)])
    assert res.exit_code == 0, res.output
    index = out / "index.html"
    assert f"index: {index}" in res.output
    page = index.read_text()
    hrefs = re.findall(r'<a href="([^"]+/index\.html)">([^<]+)</a>', page)
    assert sorted(name for _, name in hrefs) == ["first", "second/half"]
    for href, _ in hrefs:
        assert not href.startswith("/") and (out / href).is_file()   # relative links that resolve
    assert "2 runs" in page and "3 runs" in page
    assert "[first](first/index.html)" in (out / "report.md").read_text()


@pytest.mark.parametrize("args", [["--all"], ["--study", "x"]])
def test_report_on_a_missing_store_says_so_and_creates_nothing(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nowhere" / "runs.sqlite"
    res = CliRunner().invoke(main, ["report", *args, "--store", str(missing)])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("actlab: error: no store at") and str(missing) in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []                  # no store, no folder, no report directory
