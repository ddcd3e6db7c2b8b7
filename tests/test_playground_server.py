"""The playground's websocket protocol, over Starlette's TestClient.

Oracles: losses, gradient norms and dead units are recomputed here from the exported weights
with a forward pass and central differences written in this file (NumPy float64), not with
the engine; the linear model's floor on the circle comes from scikit-learn's logistic
regression; the inputs from their formulas.
"""
from __future__ import annotations

import base64
import io
import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground server needs starlette (pip install 'actlab[web]')")
pytest.importorskip("httpx", reason="starlette's TestClient needs httpx")

import warnings  # noqa: E402

with warnings.catch_warnings():   # starlette >= 1.x suggests httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from actlab.playground import protocol as P  # noqa: E402
from actlab.playground.server import create_app  # noqa: E402


_APP: list = [None]
_SID: list = [None]


@pytest.fixture()
def app():
    _APP[0] = create_app(max_sessions=3)
    return _APP[0]


_OPEN: list = []


BASE = "http://127.0.0.1:8000"       # the loopback name and port the app serves (Host is checked)
WS_URL = "ws://127.0.0.1:8000/ws"


@pytest.fixture()
def client(app):
    with TestClient(app, base_url=BASE) as c:
        yield c
        while _OPEN:                       # close every tab the test opened
            _OPEN.pop().__exit__(None, None, None)


def recv(ws, kind, limit=200):
    """The next message of type ``kind`` (frames sent by a running loop are skipped)."""
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg
        if msg["type"] == "error" and kind != "error":
            raise AssertionError(f"unexpected error: {msg['message']}")
    raise AssertionError(f"no {kind} message in {limit} messages")


def connect(client):
    cm = client.websocket_connect(WS_URL)
    ws = cm.__enter__()
    _OPEN.append(cm)
    return ws, cm


def close(cm):
    _OPEN.remove(cm)
    cm.__exit__(None, None, None)


def open_session(client):
    ws, _ = connect(client)
    hello = recv(ws, "hello")
    _SID[0] = hello["session"]
    net = recv(ws, "network")
    frame = recv(ws, "frame")
    return ws, hello, net, frame


def configure(ws, **cfg):
    ws.send_json({"type": "config", "config": cfg})
    net = recv(ws, "network")
    frame = recv(ws, "frame")
    return net, frame


def step(ws, n):
    ws.send_json({"type": "step", "n": n})
    return recv(ws, "frame")


def export(ws):
    ws.send_json({"type": "export"})
    msg = recv(ws, "export")
    with np.load(io.BytesIO(base64.b64decode(msg["weights"])), allow_pickle=False) as d:
        weights = [d[k] for k in sorted(k for k in d.files if k.startswith("w"))]
    return msg, weights


# -- an independent forward pass ----------------------------------------------------------------
ACT = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
       "linear": lambda z: z}


def features(points, names):
    x1, x2 = points[:, 0], points[:, 1]
    table = {"x1": x1, "x2": x2, "x1sq": x1 * x1, "x2sq": x2 * x2, "x1x2": x1 * x2,
             "sinx1": np.sin(x1), "sinx2": np.sin(x2)}
    return np.stack([table[n] for n in names], axis=1)


def forward(weights, acts, x):
    """Hidden layers with ``acts``, then a sigmoid unit; returns (p, pre-activations per layer)."""
    h, zs = x, []
    for i, act in enumerate(acts):
        z = h @ weights[2 * i] + weights[2 * i + 1]
        zs.append(z)
        h = ACT[act](z)
    z = h @ weights[-2] + weights[-1]
    return 1 / (1 + np.exp(-z)), zs


def bce(p, y):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def data_of(net):
    """The points (the input, read from the session: the message rounds them for drawing)."""
    s = _APP[0].state.sessions[_SID[0]].session
    assert np.allclose(s.points.points, net["points"]["x"], atol=1e-3)
    pts = s.points.points
    y = np.asarray(s.points.labels, dtype=np.float64).reshape(-1, 1)
    tr, te = net["points"]["train"], net["points"]["test"]
    return pts, y, tr, te


# -- hello, limits, zoo ------------------------------------------------------------------------
def test_hello_lists_the_zoo_limits_and_defaults(client):
    from actlab import activations

    ws, hello, net, frame = open_session(client)
    names = {a["name"] for a in hello["activations"]}
    # every zoo function that maps a unit to a unit, plus maxout; softmax/log_softmax are output-only
    expected = {n for n in activations.names() if n not in ("softmax", "log_softmax")}
    assert names == expected
    prelu = next(a for a in hello["activations"] if a["name"] == "prelu")
    rrelu = next(a for a in hello["activations"] if a["name"] == "rrelu")
    assert "alpha" in prelu["params"] and {"lower", "upper"} <= set(rrelu["params"])
    assert hello["limits"]["max_layers"] == P.MAX_LAYERS and hello["limits"]["max_neurons"] == P.MAX_NEURONS
    assert net["config"] == P.DEFAULT_CONFIG
    assert frame["step"] == 0 and len(frame["models"]) == 1


def test_page_and_static_files_are_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "<canvas id=\"boundary\"" in r.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "http://" not in client.get("/static/app.js").text.replace("http://127.0.0.1", "")  # no CDN


# -- validation: errors change nothing ---------------------------------------------------------
BAD_MESSAGES = [
    ("not json {", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"type": "explode"}', "unknown message type"),
    ('{"type": "play", "extra": 1}', "unknown field 'extra'"),
    ('{"type": "config"}', "missing field 'config'"),
    ('{"type": "config", "config": {"colour": "red"}}', "unknown field 'colour'"),
    ('{"type": "config", "config": {"learning_rate": "fast"}}', "learning_rate must be a number"),
    ('{"type": "config", "config": {"learning_rate": 0}}', "learning_rate must be between"),
    ('{"type": "config", "config": {"learning_rate": 100}}', "learning_rate must be between"),
    ('{"type": "config", "config": {"batch_size": true}}', "batch_size must be an integer"),
    ('{"type": "config", "config": {"n_points": 100000}}', "n_points must be between"),
    ('{"type": "config", "config": {"n_points": 5}}', "n_points must be between"),
    ('{"type": "config", "config": {"noise": -0.1}}', "noise must be between"),
    ('{"type": "config", "config": {"dataset": "mnist"}}', "dataset"),
    ('{"type": "config", "config": {"features": []}}', "non-empty"),
    ('{"type": "config", "config": {"features": ["x1", "x3"]}}', "x3"),
    ('{"type": "config", "config": {"layers": [{"units": 17, "activation": "tanh"}]}}', "units must be between 1 and 16"),
    ('{"type": "config", "config": {"layers": [{"units": 0, "activation": "tanh"}]}}', "units must be between"),
    ('{"type": "config", "config": {"layers": [{"units": 2, "activation": "softmax"}]}}', "softmax"),
    ('{"type": "config", "config": {"layers": [{"units": 2, "activation": "tanhh"}]}}', "tanhh"),
    ('{"type": "config", "config": {"layers": [{"units": 2, "activation": "prelu", "params": {"beta": 1}}]}}', "no parameter 'beta'"),
    ('{"type": "config", "config": {"layers": [{"units": 2, "activation": "elu", "params": {"alpha": 1e9}}]}}', "between"),
    ('{"type": "config", "config": {"layers": "8x2"}}', "layers must be a list"),
    ('{"type": "config", "config": {"compare": "nope"}}', "nope"),
    ('{"type": "step", "n": 0}', "n must be between"),
    ('{"type": "step", "n": 100000}', "n must be between"),
    ('{"type": "config", "config": {"dataset": "upload"}}', "no CSV has been uploaded"),
]


@pytest.mark.parametrize("raw,needle", BAD_MESSAGES)
def test_bad_messages_get_an_error_and_change_nothing(client, app, raw, needle):
    ws, hello, net, _ = open_session(client)
    step(ws, 3)
    session = app.state.sessions[hello["session"]].session
    before = (json.dumps(session.config, sort_keys=True), session.step_count,
              [w.copy() for w in session.trainers[0].model.get_weights()])
    ws.send_text(raw)
    err = recv(ws, "error")
    assert needle in err["message"]
    assert json.dumps(session.config, sort_keys=True) == before[0]
    assert session.step_count == before[1]
    for a, b in zip(session.trainers[0].model.get_weights(), before[2]):
        np.testing.assert_array_equal(a, b)
    # the session still works
    assert step(ws, 1)["step"] == before[1] + 1


def test_too_many_layers_is_refused(client):
    ws, *_ = open_session(client)
    ws.send_json({"type": "config", "config": {"layers": [{"units": 2, "activation": "tanh"}] * (P.MAX_LAYERS + 1)}})
    assert f"at most {P.MAX_LAYERS} hidden layers" in recv(ws, "error")["message"]


def test_oversized_message_is_refused(client):
    ws, *_ = open_session(client)
    big = json.dumps({"type": "upload", "csv": "1,1,0\n" * (P.MAX_MESSAGE_BYTES // 6 + 10)})
    assert len(big) > P.MAX_MESSAGE_BYTES
    ws.send_text(big)
    msg = recv(ws, "error")["message"]
    assert "refused" in msg and str(P.MAX_MESSAGE_BYTES) in msg
    assert step(ws, 1)["step"] == 1


def test_binary_garbage_is_refused(client):
    ws, *_ = open_session(client)
    ws.send_bytes(b"\xff\xfe\x00garbage")
    assert "not valid JSON" in recv(ws, "error")["message"]


def test_rate_limit(client):
    ws, *_ = open_session(client)
    n = P.RATE_BURST + 40
    for _ in range(n):
        ws.send_json({"type": "pause"})
    kinds = [ws.receive_json() for _ in range(n)]
    errors = [m for m in kinds if m["type"] == "error"]
    assert errors and all("too many messages" in m["message"] for m in errors)
    assert len(errors) < n       # the first burst was served


# -- sessions ------------------------------------------------------------------------------------
def test_each_tab_has_its_own_session_and_a_closed_tab_frees_it(client, app):
    ws1, h1, *_ = open_session(client)
    cm1 = _OPEN[-1]
    ws2, h2, *_ = open_session(client)
    assert h1["session"] != h2["session"] and len(app.state.sessions) == 2
    configure(ws1, learning_rate=0.3)
    assert app.state.sessions[h2["session"]].session.config["learning_rate"] == P.DEFAULT_CONFIG["learning_rate"]
    ws3, *_ = open_session(client)
    # the limit is 3: a fourth tab is told why and closed
    ws4, cm4 = connect(client)
    msg = ws4.receive_json()
    assert msg["type"] == "error" and msg.get("fatal") and "limit" in msg["message"]
    close(cm4)
    assert len(app.state.sessions) == 3
    close(cm1)
    assert h1["session"] not in app.state.sessions and len(app.state.sessions) == 2
    assert client.get("/api/status").json()["sessions"] == 2


# -- training against independent oracles ------------------------------------------------------
def test_linear_model_cannot_fit_the_circle_and_a_tanh_layer_can(client):
    from sklearn.linear_model import LogisticRegression

    ws, *_ = open_session(client)
    net, _ = configure(ws, dataset="circle", layers=[], learning_rate=0.03, seed=3)
    pts, y, tr, te = data_of(net)
    frame = step(ws, 400)
    lin = frame["models"][0]["loss"]
    # the best linear (logistic) model on these points, by scikit-learn: near chance
    best = LogisticRegression(C=1e6).fit(pts[tr], y[tr, 0])
    floor = bce(best.predict_proba(pts[tr])[:, 1:], y[tr])
    assert floor > 0.6
    assert lin["train"] >= floor - 1e-3 and lin["test"] > 0.6

    configure(ws, layers=[{"units": 6, "activation": "tanh"}], learning_rate=0.1)
    frame = step(ws, 1000)
    m = frame["models"][0]
    assert m["loss"]["test"] < 0.3 and m["accuracy"]["test"] > 0.9


def test_frame_loss_and_accuracy_match_an_independent_forward_pass(client):
    ws, *_ = open_session(client)
    net, _ = configure(ws, dataset="xor", features=["x1", "x2", "x1x2"],
                       layers=[{"units": 5, "activation": "tanh"}, {"units": 3, "activation": "relu"}], seed=4)
    frame = step(ws, 57)
    _, weights = export(ws)
    pts, y, tr, te = data_of(net)
    x = features(pts, ["x1", "x2", "x1x2"])
    p, _ = forward(weights, ["tanh", "relu"], x)
    m = frame["models"][0]
    assert m["loss"]["train"] == pytest.approx(bce(p[tr], y[tr]), rel=1e-5)
    assert m["loss"]["test"] == pytest.approx(bce(p[te], y[te]), rel=1e-5)
    assert m["accuracy"]["test"] == pytest.approx(np.mean((p[te] > 0.5) == (y[te] > 0.5)))
    # the weights drawn as links are the model's
    np.testing.assert_allclose(np.array(m["weights"][0]), weights[0], atol=1e-4)


def test_gradient_norms_match_central_differences(client):
    ws, *_ = open_session(client)
    acts = ["tanh", "sigmoid"]
    net, _ = configure(ws, dataset="gauss", n_points=60, features=["x1", "x2"], seed=5,
                       layers=[{"units": 3, "activation": a} for a in acts], l2=0.01)
    frame = step(ws, 5)
    _, weights = export(ws)
    pts, y, tr, _ = data_of(net)
    x = features(pts[tr], ["x1", "x2"])

    def loss(ws_):
        return bce(forward(ws_, acts, x)[0], y[tr])   # the data loss, no L2 term

    norms = []
    for k in (0, 2, 4):   # the kernels of layer 1, layer 2, output
        g = np.zeros_like(weights[k])
        for idx in np.ndindex(*g.shape):
            plus = [w.copy() for w in weights]
            minus = [w.copy() for w in weights]
            plus[k][idx] += 1e-6
            minus[k][idx] -= 1e-6
            g[idx] = (loss(plus) - loss(minus)) / 2e-6
        norms.append(np.linalg.norm(g))
    np.testing.assert_allclose(frame["models"][0]["grad_norms"], norms, rtol=1e-4)


def test_deep_sigmoid_net_shows_the_vanishing_gradient(client):
    ws, *_ = open_session(client)
    ratios = {}
    for act in ("sigmoid", "tanh"):
        _, frame = configure(ws, dataset="circle", layers=[{"units": 8, "activation": act}] * 8, seed=1)
        g = frame["models"][0]["grad_norms"]
        assert len(g) == 9
        ratios[act] = g[0] / g[-2]
    # Glorot & Bengio: in a deep sigmoid net the first layer's gradient is orders of magnitude
    # below the last hidden layer's; much less so with tanh
    assert ratios["sigmoid"] < 1e-3
    assert ratios["tanh"] > 100 * ratios["sigmoid"]


def test_dead_units_match_an_independent_check_and_rise_with_the_learning_rate(client):
    ws, *_ = open_session(client)
    dead_count = {}
    for act, lr in (("relu", 0.003), ("relu", 2.0), ("leaky_relu", 2.0)):
        net, _ = configure(ws, dataset="circle", layers=[{"units": 8, "activation": act}] * 3,
                           learning_rate=lr, seed=2)
        frame = step(ws, 200)
        m = frame["models"][0]
        assert m["diverged"] is None
        _, weights = export(ws)
        pts, _, tr, _ = data_of(net)
        if act == "relu":
            _, zs = forward(weights, ["relu"] * 3, features(pts[tr], ["x1", "x2"]))
            expected = [np.all(z <= 0, axis=0).tolist() for z in zs]   # ReLU'(z) = 0 for z <= 0
            assert m["dead"] == expected
        dead_count[(act, lr)] = sum(map(sum, m["dead"]))
    assert dead_count[("relu", 2.0)] > dead_count[("relu", 0.003)]
    assert dead_count[("relu", 2.0)] >= 4
    assert dead_count[("leaky_relu", 2.0)] == 0      # its derivative is alpha = 0.01 below zero


def test_side_by_side_uses_the_same_data_and_initial_weights(client):
    ws, *_ = open_session(client)
    layers = [{"units": 6, "activation": "tanh"}, {"units": 6, "activation": "tanh"}]
    _, frame = configure(ws, dataset="spiral", layers=layers, compare={"activation": "relu"}, seed=7)
    a, b = frame["models"]
    assert a["weights"] == b["weights"] and a["biases"] == b["biases"]
    frame = step(ws, 50)
    a, b = frame["models"]
    assert a["weights"] != b["weights"]
    # the same activation on both sides trains identically: same batches, same start
    configure(ws, compare={"activation": "tanh"})
    frame = step(ws, 50)
    a, b = frame["models"]
    assert a["loss"] == b["loss"] and a["weights"] == b["weights"]


def test_prelu_and_rrelu_layers_train(client):
    ws, *_ = open_session(client)
    net, frame0 = configure(ws, layers=[{"units": 4, "activation": "prelu", "params": {"alpha": 0.25}},
                                        {"units": 4, "activation": "rrelu", "params": {"lower": 0.1, "upper": 0.3}}])
    assert net["layers"][0]["params"] == {"alpha": 0.25}
    # the curve shown beside the layer is the activation itself: prelu(-2) = 0.25 * -2
    xs = np.array(net["curve_x"])
    ys = np.array(net["layers"][0]["curve"]["y"])
    assert ys[np.argmin(abs(xs + 2))] == pytest.approx(-0.5)
    assert net["layers"][1]["curve"]["dy"][0] == pytest.approx(0.2)   # the mean slope (0.1 + 0.3) / 2
    _, weights0 = export(ws)
    np.testing.assert_allclose(weights0[2], 0.25)                      # PReLU alpha per unit
    step(ws, 100)
    _, weights = export(ws)
    assert not np.allclose(weights[2], 0.25)                            # alpha learns


def test_multiclass_and_regression_sets(client):
    ws, *_ = open_session(client)
    net, frame = configure(ws, dataset="spiral3", layers=[{"units": 8, "activation": "relu"}])
    assert net["kind"] == "multiclass" and net["num_classes"] == 3
    m = frame["models"][0]
    assert len(base64.b64decode(m["boundary"])) == 3 * net["boundary_res"] ** 2
    # the three class planes are softmax probabilities: they sum to one (to quantisation)
    planes = np.frombuffer(base64.b64decode(m["boundary"]), np.uint8).reshape(3, -1) / 255
    assert np.all(abs(planes.sum(axis=0) - 1) < 3 / 255 + 1e-9)
    net, frame = configure(ws, dataset="gauss3", layers=[{"units": 8, "activation": "relu"}])
    frame = step(ws, 300)
    assert frame["models"][0]["accuracy"]["test"] > 0.9    # three separable blobs, chance is 1/3
    net, frame = configure(ws, dataset="reg_plane", layers=[])
    assert net["kind"] == "regression" and "accuracy" not in frame["models"][0]
    frame = step(ws, 300)
    assert frame["models"][0]["loss"]["test"] < 0.01           # a plane is linear: MSE -> 0


def test_features_are_the_formulas(client, app):
    ws, hello, *_ = open_session(client)
    names = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"]
    net, _ = configure(ws, features=list(reversed(names)))
    assert net["config"]["features"] == names                  # canonical order
    s = app.state.sessions[hello["session"]].session
    pts = s.points.points[s.train_idx]
    np.testing.assert_allclose(s.x_train, features(pts, names))


# -- play, pause, reset ----------------------------------------------------------------------------
def test_play_streams_frames_and_pause_stops(client, app):
    ws, hello, *_ = open_session(client)
    configure(ws, layers=[{"units": 8, "activation": "tanh"}] * 2)
    ws.send_json({"type": "play"})
    steps = [recv(ws, "frame")["step"] for _ in range(5)]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    ws.send_json({"type": "pause"})
    for _ in range(50):
        f = ws.receive_json()
        if f["type"] == "frame" and not f["playing"]:
            break
    n = app.state.sessions[hello["session"]].session.step_count
    ws.send_json({"type": "reset"})
    recv(ws, "network")
    assert recv(ws, "frame")["step"] == 0 and n > 0


def test_reset_restores_the_initial_weights(client):
    ws, *_ = open_session(client)
    _, w0 = export(ws)
    step(ws, 30)
    _, w1 = export(ws)
    ws.send_json({"type": "reset"})
    recv(ws, "frame")
    _, w2 = export(ws)
    assert not all(np.array_equal(a, b) for a, b in zip(w0, w1))
    for a, b in zip(w0, w2):
        np.testing.assert_array_equal(a, b)


# -- CSV upload -------------------------------------------------------------------------------------
def test_csv_upload(client):
    ws, *_ = open_session(client)
    rows = ["x1,x2,label"] + [f"{x:.2f},{y:.2f},{int(x * y > 0) + (x > 3)}"
                              for x, y in np.random.default_rng(0).uniform(-5, 5, (60, 2))]
    ws.send_json({"type": "upload", "csv": "\n".join(rows)})
    net = recv(ws, "network")
    assert net["config"]["dataset"] == "upload" and len(net["points"]["x"]) == 60
    assert net["kind"] == "multiclass" and net["num_classes"] == 3
    step(ws, 5)


@pytest.mark.parametrize("csv,needle", [
    ("1,2\n3,4\n5,6\n7,8\n", "expected 3 columns"),
    ("1,2,0\n3,4,1\nfoo,1,0\n1,1,1\n", "line 3"),
    ("1,2,0\n3,40,1\n1,1,0\n2,2,1\n", "[-6, 6]"),
    ("1,2,0\n", "at least 4"),
    ("1,2,0\n3,4,0\n1,1,0\n2,2,0\n", "single class"),
    ("1,2,5.5\n3,4,0\n1,1,0\n2,2,1\n", "regression"),
    ("1,2,nan\n3,4,0\n1,1,0\n2,2,1\n", "finite"),
    ("\n".join(["1,1,0", "2,2,1"] * 1001), "more than 2000 rows"),
    ("1,1,0\n" * 11000, "limit is 65536 bytes"),
])
def test_bad_csv_files_are_refused_with_a_clear_message(client, app, csv, needle):
    ws, hello, *_ = open_session(client)
    ws.send_json({"type": "upload", "csv": csv})
    msg = recv(ws, "error")["message"]
    assert msg.startswith("bad CSV file") and needle in msg
    assert app.state.sessions[hello["session"]].session.config["dataset"] == P.DEFAULT_CONFIG["dataset"]


# -- export ---------------------------------------------------------------------------------------
def test_export_script_reproduces_the_session(client, tmp_path):
    ws, *_ = open_session(client)
    configure(ws, dataset="moons", features=["x1", "x2", "sinx1"], l2=0.001, optimizer="adam", learning_rate=0.01,
              layers=[{"units": 5, "activation": "elu", "params": {"alpha": 0.5}},
                      {"units": 4, "activation": "leaky_relu"}, {"units": 3, "activation": "prelu"}])
    frame = step(ws, 80)
    msg, _ = export(ws)
    script = msg["script"]
    compile(script, "playground_model.py", "exec")
    assert "from actlab.keras.models import Sequential" in script and "import keras" not in script
    (tmp_path / msg["script_name"]).write_text(script)
    (tmp_path / msg["weights_name"]).write_bytes(base64.b64decode(msg["weights"]))
    out = subprocess.run([sys.executable, msg["script_name"]], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    loss, acc = json.loads(out.stdout.strip().split("test", 1)[1].strip())
    m = frame["models"][0]
    # the script's model is float32 and the embedded points are rounded to 6 decimals
    assert loss == pytest.approx(m["loss"]["test"] + _l2_penalty(ws), abs=2e-3)
    assert acc == pytest.approx(m["accuracy"]["test"], abs=0.011)


def _l2_penalty(ws):
    """evaluate() adds the L2 term, the frame's loss does not: compute it from the weights."""
    _, weights = export(ws)
    kernels = [w for w in weights if w.ndim == 2]
    return 0.001 * sum(float(np.sum(k * k)) for k in kernels)


# -- the command and the lazy imports ------------------------------------------------------------
def test_cli_command_is_registered():
    from click.testing import CliRunner

    from actlab.cli import main

    result = CliRunner().invoke(main, ["playground", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--open", "127.0.0.1", "8000"):
        assert option in result.output
    bad = CliRunner().invoke(main, ["playground", "--port", "70000"])
    assert bad.exit_code == 2 and "70000" in bad.output


def test_core_never_imports_the_web_stack():
    code = ("import sys, actlab, actlab.cli, actlab.playground, actlab.playground.session, "
            "actlab.playground.protocol; print(sorted(m for m in ('starlette', 'uvicorn', 'websockets') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
