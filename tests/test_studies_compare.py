"""The compare and reproduce studies: statistics against hand computations, the paired design,
and a tiny real comparison on digits through the CLI with its report files."""
from __future__ import annotations

import base64
import csv
import io
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

from actlab.store import Store
from actlab.studies import stats
from actlab.studies.compare import (CompareSpec, activation_label, compare_tasks, parse_activations,
                                    run_compare)
from actlab.studies.runner import build_model, load_data

# -- statistics -----------------------------------------------------------------------------------


def test_t_interval_by_formula_with_table_quantiles():
    # t(0.975, 2) = 4.303 and t(0.975, 4) = 2.776 from a printed t table
    m, lo, hi = stats.t_interval([0.90, 0.92, 0.94])
    assert m == pytest.approx(0.92)
    assert hi - m == pytest.approx(4.303 * 0.02 / math.sqrt(3), rel=1e-4)
    assert m - lo == pytest.approx(hi - m)
    x = [1.0, 3.0, 5.0, 7.0, 9.0]                  # mean 5, squared deviations 40, s^2 = 10
    m, lo, hi = stats.t_interval(x)
    assert m == 5.0
    assert hi == pytest.approx(5.0 + 2.776 * math.sqrt(10) / math.sqrt(5), rel=1e-4)
    m90, lo90, hi90 = stats.t_interval(x, 0.90)     # t(0.95, 4) = 2.132
    assert hi90 == pytest.approx(5.0 + 2.132 * math.sqrt(10) / math.sqrt(5), rel=1e-3)
    assert stats.t_interval([3.0])[0] == 3.0 and math.isnan(stats.t_interval([3.0])[1])
    assert all(math.isnan(v) for v in stats.t_interval([]))
    d = stats.describe([1.0, 3.0, 5.0, 7.0, 9.0, float("nan")])
    assert (d["n"], d["median"], d["min"], d["max"]) == (5, 5.0, 1.0, 9.0)
    assert d["std"] == pytest.approx(math.sqrt(10))


def test_paired_test_by_hand():
    base = [0.80, 0.81, 0.82, 0.83]
    vals = [0.81, 0.83, 0.85, 0.87]                 # differences 0.01, 0.02, 0.03, 0.04
    r = stats.paired_test(vals, base)
    sd = math.sqrt(((0.015) ** 2 + (0.005) ** 2 + 0.005 ** 2 + 0.015 ** 2) / 3)   # 0.0129099
    assert r["n"] == 4
    assert r["mean_diff"] == pytest.approx(0.025)
    assert r["d_z"] == pytest.approx(0.025 / sd)
    assert r["t"] == pytest.approx(0.025 / (sd / 2))                              # 3.873
    assert r["p_t"] == pytest.approx(0.0305, abs=5e-4)                           # t table, 3 df
    assert r["p_wilcoxon"] == pytest.approx(2 / 16)  # exact: all 4 signs positive, two-sided
    assert r["ci_low"] == pytest.approx(0.025 - 3.182 * sd / 2, rel=1e-3)         # t(0.975, 3) = 3.182
    # pairs with a missing value (a diverged run) are dropped
    r2 = stats.paired_test(vals + [None], base + [0.9])
    assert r2["n"] == 4 and r2["t"] == pytest.approx(r["t"])
    same = stats.paired_test([0.5, 0.6], [0.5, 0.6])
    assert same["p_wilcoxon"] == 1.0 and same["p_t"] == 1.0 and same["d_z"] == 0.0
    with pytest.raises(ValueError, match="equal length"):
        stats.paired_test([1.0], [1.0, 2.0])


def test_fewer_than_three_values_give_no_interval_and_say_why():
    assert stats.MIN_INFORMATIVE_N == 3
    d2, d3 = stats.describe([0.70, 0.90]), stats.describe([0.70, 0.80, 0.90])
    assert d2["n"] == 2 and d2["mean"] == pytest.approx(0.8) and math.isnan(d2["ci_low"]) and math.isnan(d2["ci_high"])
    assert d3["ci_high"] == pytest.approx(0.8 + 4.303 * 0.1 / math.sqrt(3), rel=1e-4)   # t(0.975, 2) = 4.303
    p2 = stats.paired_test([0.81, 0.83], [0.80, 0.80])
    assert p2["n"] == 2 and p2["mean_diff"] == pytest.approx(0.02) and math.isnan(p2["ci_low"])
    assert not math.isnan(stats.paired_test([0.81, 0.83, 0.82], [0.80, 0.80, 0.80])["ci_low"])
    band = stats.curve_band([[0.5, 0.6, 0.7], [0.7, 0.8], [0.6, 0.7]])
    assert band["n"].tolist() == [3, 3, 1] and np.isfinite(band["low"][:2]).all() and math.isnan(band["low"][2])
    assert not math.isnan(stats.t_interval([0.7, 0.9])[1])          # still there for those who ask
    assert stats.interval_text(0.1, 0.9, 2) == "n=2: interval not informative"
    assert stats.interval_text(math.nan, math.nan, 1) == "n=1: no interval"
    assert stats.interval_text(-0.8084, 2.2708, 3) == "[-80.84, 227.08]"
    assert stats.interval_text(-0.05, -0.02, 4) == "[-5.00, -2.00]"        # no "-5.00–-2.00"
    assert stats.interval_text(-5.0, -2.0, 4, scale=1.0, digits=1) == "[-5.0, -2.0]"


def test_reproduce_text_with_two_seeds_says_the_interval_is_not_informative():
    from actlab.studies.reproduce import _ours_text

    row = {"n": 2, "mean": 0.7312, "ci_low": math.nan, "ci_high": math.nan, "diverged": 0, "runs": 2}
    assert _ours_text(row) == "73.12 (n=2: interval not informative)"
    row = {"n": 3, "mean": 0.7312, "ci_low": 0.70, "ci_high": 0.7624, "diverged": 1, "runs": 4}
    assert _ours_text(row) == "73.12 [70.00, 76.24] (n=3, 1 diverged)"


def test_time_to_target_and_band():
    h = {"epoch": [1, 2, 3, 4], "val_accuracy": [0.5, 0.85, 0.91, 0.95], "seconds": [1.0, 2.0, 0.5, 9.0]}
    assert stats.time_to_target(h, 0.9) == (3, 3.5)
    assert stats.time_to_target(h, 0.96) == (None, None)
    assert stats.time_to_target(h, 0.5) == (1, 1.0)
    band = stats.curve_band([[1.0, 2.0, 3.0], [3.0, 4.0], [2.0, 6.0, 5.0]])
    assert band["n"].tolist() == [3, 3, 2]
    assert band["mean"].tolist() == pytest.approx([2.0, 4.0, 4.0])
    assert band["high"][0] == pytest.approx(2.0 + 4.303 * 1.0 / math.sqrt(3), rel=1e-4)


# -- activations and the paired design -------------------------------------------------------------


def test_parse_activations_and_labels():
    acts = parse_activations("relu, leaky_relu(alpha=0.2),elu(alpha=1.0), prelu")
    assert [activation_label(a) for a in acts] == ["relu", "leaky_relu(alpha=0.2)", "elu", "prelu"]
    assert acts[1] == {"name": "leaky_relu", "alpha": 0.2}
    with pytest.raises(ValueError, match="relux"):
        parse_activations("relu,relux")
    with pytest.raises(ValueError, match="repeat"):
        CompareSpec(activations="relu,relu").resolved()
    with pytest.raises(ValueError, match="baseline 'tanh'"):
        CompareSpec(activations="relu,elu", baseline="tanh").resolved()


def test_paired_design_same_split_batches_and_weights():
    spec = CompareSpec(activations="relu,prelu,tanh,maxout(k=2)", seeds=[3, 4], epochs=1, hidden="16x2").resolved()
    tasks = compare_tasks(spec)
    assert len(tasks) == 8
    by_seed: dict[int, list] = {}
    for t in tasks:
        by_seed.setdefault(t.config["seed"], []).append(t.config)
    for cfgs in by_seed.values():
        # the configurations differ in the activation only
        strip = [{**c, "model": {**c["model"], "activation": None}} for c in cfgs]
        assert all(s == strip[0] for s in strip)
        data = [load_data(c["data"], c["runtime"]) for c in cfgs]
        assert all(np.array_equal(d.x_train, data[0].x_train) and np.array_equal(d.y_test, data[0].y_test)
                   for d in data)
        models = [build_model(c, data[0]) for c in cfgs]
        kernels = [[l.params["kernel"] for l in m.layers if "kernel" in l.params] for m in models]
        # relu, prelu and tanh: identical initial weights, layer by layer
        for k in kernels[1:3]:
            assert all(np.array_equal(a, b) for a, b in zip(k, kernels[0]))
        # maxout's first layer is twice as wide (shapes differ), its last layer still the same
        assert kernels[3][0].shape == (64, 32) and np.array_equal(kernels[3][-1].shape, kernels[0][-1].shape)
    a = load_data(by_seed[3][0]["data"]).x_test
    b = load_data(by_seed[4][0]["data"]).x_test
    assert not np.array_equal(a, b)  # another seed, another split


def test_identical_activations_give_identical_runs_per_seed(tmp_path):
    # leaky_relu with alpha=0 is relu: in a paired design their runs must agree bit for bit
    store = Store(tmp_path / "r.sqlite")
    res = run_compare(activations="relu,leaky_relu(alpha=0.0)", seeds=2, epochs=2, hidden="16", dataset="digits",
                      store=store, workers=1, progress=False)
    curves = {(r["config"]["seed"], activation_label(r["config"]["model"]["activation"])): r["history"]
              for r in res.records}
    for seed in (0, 1):
        a, b = curves[(seed, "relu")], curves[(seed, "leaky_relu(alpha=0)")]
        assert a["loss"] == b["loss"] and a["val_accuracy"] == b["val_accuracy"]
    assert curves[(0, "relu")]["loss"] != curves[(1, "relu")]["loss"]
    p = res.paired[0]
    assert p["n"] == 2 and p["mean_diff"] == 0.0 and p["p_wilcoxon"] == 1.0


# -- a real comparison through the CLI ---------------------------------------------------------------


def _png_ok(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" in data[-12:]


def test_compare_cli_writes_a_report_and_rebuilds_it(tmp_path):
    from actlab.cli import main

    store_path = tmp_path / "runs.sqlite"
    out = tmp_path / "report"
    runner = CliRunner()
    # on the raw 0..16 pixels at this rate the linear net blows up (diverged), tanh does not
    args = ["compare", "--dataset", "digits", "--activations", "tanh,linear", "--seeds", "2", "--epochs", "2",
            "--hidden", "32x2", "--batch-size", "32", "--lr", "0.05", "--raw-pixels", "--workers", "1",
            "--store", str(store_path), "--out", str(out), "--no-progress", "--name", "tiny"]
    res = runner.invoke(main, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "report:" in res.output and "tanh" in res.output

    store = Store(store_path)
    recs = store.runs(study="tiny")
    assert len(recs) == 4
    status = {(r["config"]["seed"], r["config"]["model"]["activation"]["name"]): r for r in recs}
    assert {status[(s, "linear")]["status"] for s in (0, 1)} == {"diverged"}
    assert {status[(s, "tanh")]["status"] for s in (0, 1)} == {"done"}
    tanh_acc = [status[(s, "tanh")]["history"]["val_accuracy"][-1] for s in (0, 1)]

    # CSV tables parse, with the right rows, and agree with the store
    with open(out / "tables" / "runs.csv", newline="") as fh:
        runs = list(csv.DictReader(fh))
    assert len(runs) == 4
    assert sorted(r["status"] for r in runs) == ["diverged (epoch 1)"] * 2 + ["done"] * 2
    with open(out / "tables" / "summary.csv", newline="") as fh:
        summary = {r["activation"]: r for r in csv.DictReader(fh)}
    assert set(summary) == {"tanh", "linear"}
    assert float(summary["tanh"]["mean acc %"]) == pytest.approx(100 * np.mean(tanh_acc))
    # two seeds: the t interval (half-width 12.706 s / sqrt 2) says nothing, so it is left out and said so
    assert summary["tanh"]["95% CI low %"] == summary["tanh"]["95% CI high %"] == ""
    assert "n=2: interval not informative" in res.output
    assert summary["linear"]["diverged"] == "2" and summary["linear"]["mean acc %"] in ("", "nan")
    with open(out / "tables" / "paired.csv", newline="") as fh:
        paired = list(csv.DictReader(fh))
    assert len(paired) == 1 and paired[0]["pairs"] == "0"

    # the HTML page holds the tables and embedded images; PNG and SVG files are valid
    page = (out / "index.html").read_text()
    assert "<td>tanh</td>" in page and "<td>linear</td>" in page and "diverged (epoch 1)" in page
    assert f"{100 * np.mean(tanh_acc):.4g}" in page
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(embedded) >= 3 and all(_png_ok(base64.b64decode(b)) for b in embedded)
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    pngs = sorted((out / "figures").glob("*.png"))
    svgs = sorted((out / "figures").glob("*.svg"))
    assert len(pngs) >= 3 and len(svgs) == len(pngs)
    assert all(_png_ok(p.read_bytes()) for p in pngs)
    for s in svgs:
        assert ET.parse(s).getroot().tag.endswith("svg")
    assert base64.b64decode(embedded[0]) in {p.read_bytes() for p in pngs}
    md = (out / "report.md").read_text()
    assert "| tanh |" in md

    # `actlab report` rebuilds the same tables from the store alone
    again = tmp_path / "again"
    res = runner.invoke(main, ["report", "--study", "tiny", "-o", str(again), "--store", str(store_path)],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    for name in ("summary.csv", "paired.csv", "runs.csv"):
        assert (again / "tables" / name).read_text() == (out / "tables" / name).read_text()

    # export
    res = runner.invoke(main, ["runs", "export", "--format", "csv", "-o", str(tmp_path / "x.csv"),
                               "--store", str(store_path), "--study", "tiny"], catch_exceptions=False)
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "x.csv").read_text())))
    assert len(rows) == 4 and {r["diverged_epoch"] for r in rows} == {"1", ""}
    res = runner.invoke(main, ["runs", "show", recs[0]["key"][:10], "--store", str(store_path)])
    assert res.exit_code == 0 and recs[0]["key"] in res.output
    res = runner.invoke(main, ["report", "--study", "nope", "--store", str(store_path)])
    assert res.exit_code == 2 and "tiny" in res.output


def test_compare_rejects_bad_input_with_one_line(tmp_path):
    from actlab.cli import main

    res = CliRunner().invoke(main, ["compare", "--activations", "relu,relux", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2 and "relux" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("spec, message", [
    ("relu,leaky_relu(alpha=abc)", "invalid value 'abc' for parameter alpha of leaky_relu: expected a finite number"),
    ("relu,leaky_relu(alpha=nan)", "invalid value nan for parameter alpha of leaky_relu: expected a finite number"),
    ("relu,elu(alpha=inf)", "invalid value inf for parameter alpha of elu: expected a finite number"),
    ("maxout(k=1.5)", "invalid value 1.5 for parameter k of maxout: expected an integer >= 1"),
])
def test_compare_refuses_a_parameter_outside_its_domain_before_any_run(tmp_path, spec, message):
    from actlab.cli import main

    store = tmp_path / "s.sqlite"
    res = CliRunner().invoke(main, ["compare", "--activations", spec, "--store", str(store), "--no-progress",
                                    "--out", str(tmp_path / "report")])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"actlab: error: {message}") and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "report").exists()
    assert not store.exists() or Store(store).runs() == []


# -- reproduce --------------------------------------------------------------------------------------


def test_reproduce_preset_matches_the_issue_text():
    from actlab.studies.reproduce import BUDGETS, NOTES_ROWS, ReproduceSpec, reproduce_tasks

    assert [(r.label, r.accuracy) for r in NOTES_ROWS] == [
        ("tanh", 93.2), ("ReLU", 94.1), ("LeakyReLU(alpha=0.01)", 93.7), ("LeakyReLU(alpha=0.01)", 92.9),
        ("PReLU", 92.55), ("PReLU", 90.6)]
    spec = ReproduceSpec(seeds=2).resolved()
    assert (spec.epochs, spec.short_epochs) == (BUDGETS["long"]["epochs"], BUDGETS["short"]["epochs"])
    tasks = reproduce_tasks(spec)
    assert len(tasks) == 2 * 2 * 6
    c = tasks[0].config
    assert c["model"]["hidden"] == "200x4" and c["data"]["protocol"] == "notes" and c["data"]["n_samples"] == 10000
    assert c["train"]["optimizer"]["learning_rate"] == 0.01 and c["train"]["optimizer"]["momentum"] == 0.0
    assert {t.config["data"]["scale"] for t in tasks} == {"raw", True}
    assert ReproduceSpec(epochs=20).resolved().short_epochs == 2


def test_reproduce_tiny_on_mnist(tmp_path, mnist_dir):
    from actlab.studies.reproduce import ReproduceSpec, run_reproduce, write_reproduce_report

    store = Store(tmp_path / "r.sqlite")
    spec = ReproduceSpec(seeds=2, epochs=1, n_samples=300, hidden="16")
    res = run_reproduce(spec, store=store, workers=1, progress=False, data_dir=str(mnist_dir))
    assert len(res.rows) == 12
    for row in res.rows:
        statuses = [r["status"] for r in store.runs() if r["config"]["data"]["scale"] == (
            "raw" if row["scaling"] == "raw" else True) and r["config"]["model"]["activation"]["name"]
            == row["activation"].split("(")[0] and r["config"]["train"]["epochs"] == row["epochs"]]
        assert row["diverged"] == statuses.count("diverged")
        assert row["n"] == statuses.count("done")
    path = write_reproduce_report(res, tmp_path / "rep")
    page = path.read_text()
    for figure in ("93.2", "94.1", "93.7", "92.9", "92.55", "90.6"):
        assert f"<td class=\"num\">{figure}</td>" in page


def test_reproduce_without_mnist_says_where_it_looked(tmp_path, monkeypatch):
    from actlab.cli import main

    for var in ("ACTLAB_DATA", "MNIST_DIR", "ACTLAB_DOWNLOAD", "ACTLAB_TEST_MNIST"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))          # no Keras / torchvision / actlab caches
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nowhere"
    res = CliRunner().invoke(main, ["reproduce", "notes", "--quick", "--data-dir", str(missing), "--no-progress",
                                    "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2, res.output
    assert "not found" in res.output and str(missing) in res.output and "Traceback" not in res.output
    assert Store(tmp_path / "s.sqlite").runs() == []   # nothing was started


def test_reproduce_on_digits_through_the_cli_matches_the_engine(tmp_path):
    """The notes' preset on the embedded digits: each stored run is the engine's own run of that preset."""
    from actlab import datasets
    from actlab.cli import main
    from actlab.engine import SGD, Dense, PReLU, Sequential

    store_path = tmp_path / "s.sqlite"
    res = CliRunner().invoke(main, ["reproduce", "notes", "--dataset", "digits", "--seeds", "1", "--epochs", "2",
                                    "--short-epochs", "1", "--inputs", "scaled", "--workers", "1", "--no-progress",
                                    "--store", str(store_path), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert "not comparable" in res.output
    runs = Store(store_path).runs()
    # 6 distinct runs: tanh and relu (long budget), leaky_relu and prelu (long and short budgets)
    assert len(runs) == 6 and {r["status"] for r in runs} == {"done"}
    prelu_long = next(r for r in runs if r["config"]["model"]["activation"]["name"] == "prelu"
                      and r["config"]["train"]["epochs"] == 2)
    # the oracle: the notes' network written directly against the engine (64-200x4-10 on digits, SGD 0.01, batch 100)
    data = datasets.load("digits", seed=0)
    eye = np.eye(10, dtype=np.float32)
    model = Sequential(seed=0)
    for i in range(4):
        model.add(Dense(200, **({"input_dim": 64} if i == 0 else {})))
        model.add(PReLU())
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.01), metrics=["accuracy"])
    hist = model.fit(data.x_train, eye[data.y_train], epochs=2, batch_size=100, verbose=0,
                     validation_data=(data.x_test, eye[data.y_test]))
    assert prelu_long["history"]["val_accuracy"] == pytest.approx(hist.history["val_accuracy"], abs=1e-12)
    assert "digits" in (tmp_path / "rep" / "index.html").read_text()


# -- compare and reproduce as declared studies: the keys, names and stored studies of before -------
# Frozen from the code before compare and reproduce were declared Studies (commit b5e2d8f): the store
# keys and study names of the same settings must not change, or stored results would not be reused.
OLD_COMPARE_KEYS = ["f9f855186967b096f6900c2ef176a419b2900191d0e7b961f25bb0794c26df31",   # seed 0, relu
                    "a55168e7a381352ddf8df30a35254371236c399ea32d7eddabfbcd87ee191672",   # seed 0, leaky_relu(0.2)
                    "f0f6ff5d5cedb844d643e160ebd86bacc2b06d451413f5fdfac1a3f1867b4f5e",   # seed 1, relu
                    "8298259b7c48c1f98e6a9b4c616e2d098b50bd8756dbbd89501454d70fd761be"]   # seed 1, leaky_relu(0.2)
# what the old run_compare stored with define_study (asdict of the resolved spec, its name included)
OLD_COMPARE_PARAMS = {"activations": [{"name": "relu"}, {"name": "leaky_relu", "alpha": 0.2}], "seeds": [0, 1],
                      "dataset": "digits", "hidden": "8", "epochs": 1, "batch_size": 32, "optimizer": "sgd",
                      "learning_rate": 0.05, "n_samples": None, "test_fraction": None, "scale": True,
                      "engine": "numpy", "target": 0.9, "baseline": "relu", "name": "compare-digits-551ef060",
                      "confidence": 0.95}
SMALL = dict(activations="relu,leaky_relu(alpha=0.2)", seeds=2, dataset="digits", hidden="8", epochs=1)


def test_compare_keeps_the_keys_and_names_of_before():
    from actlab.studies.compare import COMPARE

    params = COMPARE.params(**SMALL)
    assert [Store.key(t.config) for t in COMPARE.tasks(params, "any")] == OLD_COMPARE_KEYS     # seed-major
    assert COMPARE.default_name(params) == OLD_COMPARE_PARAMS["name"]
    spec = CompareSpec(**SMALL).resolved()
    assert spec.name == OLD_COMPARE_PARAMS["name"] and [Store.key(t.config) for t in compare_tasks(spec)] == OLD_COMPARE_KEYS
    assert params == {k: v for k, v in OLD_COMPARE_PARAMS.items() if k != "name"}             # what is stored now
    assert CompareSpec().resolved().name == "compare-digits-aec9395d"                          # the defaults' study


def test_reproduce_keeps_the_keys_and_names_of_before():
    from actlab.studies.reproduce import REPRODUCE

    params = REPRODUCE.params(seeds=1)
    tasks = REPRODUCE.tasks(params, "any")
    assert len(tasks) == 12 and REPRODUCE.default_name(params) == "reproduce-notes-ef4952fc"
    assert Store.key(tasks[0].config) == "4986f0bf50447f1c00354eb14571c031974a49c4df0ffa3f7e24f2817ad86235"
    assert Store.key(tasks[-1].config) == "a91fac6f24fa9d5ba1114106e301af222d1e2f81993643817b6d2423c45a33a2"
    digits = REPRODUCE.params(seeds=1, epochs=2, dataset="digits", scalings=["scaled"])
    assert REPRODUCE.default_name(digits) == "reproduce-notes-ca66fd05"
    assert [Store.key(t.config)[:8] for t in REPRODUCE.tasks(digits, "any")] == [
        "6c63c431", "dd242cd8", "2edab0d3", "8aaac66f", "fd3883c9", "202d72c1"]


def test_a_compare_stored_with_the_old_params_layout_rebuilds(tmp_path):
    from actlab.cli import main

    store_path = tmp_path / "s.sqlite"
    store = Store(store_path)
    res = run_compare(**SMALL, store=store, workers=1, progress=False)
    assert res.settings["name"] == OLD_COMPARE_PARAMS["name"] and {r["key"] for r in res.records} == set(OLD_COMPARE_KEYS)
    assert store.study_info(OLD_COMPARE_PARAMS["name"])["params"] == {k: v for k, v in OLD_COMPARE_PARAMS.items()
                                                                     if k != "name"}
    first = tmp_path / "first"
    assert CliRunner().invoke(main, ["report", "--study", res.settings["name"], "--store", str(store_path),
                                     "-o", str(first)]).exit_code == 0
    store.define_study(OLD_COMPARE_PARAMS["name"], "compare", OLD_COMPARE_PARAMS)    # as the old code stored it
    again = tmp_path / "again"
    out = CliRunner().invoke(main, ["report", "--study", res.settings["name"], "--store", str(store_path),
                                    "-o", str(again)])
    assert out.exit_code == 0, out.output
    with open(again / "tables" / "summary.csv", newline="") as fh:
        summary = {r["activation"]: r for r in csv.DictReader(fh)}
    assert set(summary) == {"relu", "leaky_relu(alpha=0.2)"} and {r["done"] for r in summary.values()} == {"2"}
    for name in ("summary.csv", "paired.csv", "runs.csv"):
        assert (again / "tables" / name).read_text() == (first / "tables" / name).read_text()
    assert "Activation comparison on digits" in (again / "index.html").read_text()


def test_a_reproduction_stored_with_the_old_params_layout_rebuilds(tmp_path):
    from actlab.cli import main
    from actlab.studies.reproduce import ReproduceSpec, run_reproduce

    store_path = tmp_path / "s.sqlite"
    store = Store(store_path)
    res = run_reproduce(ReproduceSpec(seeds=1, epochs=1, short_epochs=1, dataset="digits", scalings=["scaled"],
                                      hidden="8"), store=store, workers=1, progress=False)
    name = res.settings["name"]
    assert len(store.runs(study=name)) == 4          # long = short budget: leaky_relu and prelu share their runs
    # the old run_reproduce stored asdict(spec): the name among the parameters
    old = {"seeds": [0], "epochs": 1, "short_epochs": 1, "batch_size": None, "scalings": ["scaled"], "n_samples": 10000,
           "test_fraction": 0.2, "dataset": "digits", "learning_rate": 0.01, "hidden": "8", "engine": "numpy",
           "name": name, "confidence": 0.95, "loss": "categorical_crossentropy"}
    assert store.study_info(name)["params"] == {k: v for k, v in old.items() if k != "name"}
    store.define_study(name, "reproduce-notes", old)
    out = CliRunner().invoke(main, ["report", "--study", name, "--store", str(store_path), "-o", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    with open(tmp_path / "r" / "tables" / "notes-vs-ours.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and {r["runs done"] for r in rows} == {"1"}
    assert [float(r["ours mean %"]) for r in rows] == pytest.approx([100 * r["mean"] for r in res.rows])
