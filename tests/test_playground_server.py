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
import time

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
    ('{"type": "config", "config": {"sigma_b2": -0.1}}', "sigma_b2 must be between 0 and 2, got -0.1"),
    ('{"type": "config", "config": {"sigma_b2": "big"}}', "sigma_b2 must be a number"),
    ('{"type": "config", "config": {"initializer": "criticl"}}', "valid: glorot_uniform"),
    # no edge of chaos: relu with a bias variance, maxout (not elementwise)
    ('{"type": "config", "config": {"initializer": "critical", "sigma_b2": 0.1, "layers": [{"units": 2, '
     '"activation": "relu"}]}}', "initializer critical refused: no critical initialisation for relu at sigma_b2=0.1"),
    ('{"type": "config", "config": {"initializer": "critical", "layers": [{"units": 2, "activation": "maxout"}]}}',
     "initializer critical refused: the mean-field theory needs an elementwise activation, got 'maxout'"),
    # a type that is not a string used to drop the socket with a TypeError (unhashable)
    ('{"type": ["config"]}', "type must be a string"),
    ('{"type": {}}', "type must be a string"),
    ('{"type": 7}', "type must be a string"),
    # deep nesting used to end in a RecursionError that closed the socket without a word
    ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
    ('{"type": "config", "config": {"layers": ' + "[" * 30 + "]" * 30 + "}}", "nested 32 levels deep"),
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


def test_rate_limit():
    # a stopped clock: no tokens come back while the messages arrive, however slow the machine
    with TestClient(create_app(max_sessions=3, clock=lambda: 1000.0), base_url=BASE) as c:
        ws, *_ = open_session(c)
        n = P.RATE_BURST + 40
        for _ in range(n):
            ws.send_json({"type": "pause"})
        kinds = [ws.receive_json() for _ in range(n)]
        errors = [m for m in kinds if m["type"] == "error"]
        assert len(errors) == n - P.RATE_BURST  # exactly the burst was served
        assert all("too many messages" in m["message"] for m in errors)
        while _OPEN:
            _OPEN.pop().__exit__(None, None, None)


def test_rate_limiter_refills_at_its_rate():
    from actlab.playground.server import RateLimiter

    now = [0.0]
    bucket = RateLimiter(rate=10, burst=3, clock=lambda: now[0])
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.25                                   # 2.5 tokens back
    assert [bucket.allow() for _ in range(3)] == [True, True, False]
    now[0] += 100                                    # never more than the burst
    assert sum(bucket.allow() for _ in range(10)) == 3


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


def _session():
    return _APP[0].state.sessions[_SID[0]].session


def test_critical_initializer_draws_at_the_edge_of_chaos(client):
    from actlab import theory

    ws, hello, *_ = open_session(client)
    assert "critical" in hello["initializers"] and hello["limits"]["sigma_b2"] == list(P.SIGMA_B2_RANGE)
    assert hello["defaults"]["sigma_b2"] == 0.0
    net, _ = configure(ws, initializer="critical", sigma_b2=0.05, seed=4,
                       layers=[{"units": 5, "activation": "tanh"}, {"units": 3, "activation": "tanh"}])
    assert net["config"]["initializer"] == "critical" and net["config"]["sigma_b2"] == 0.05
    # Schoenholz et al.'s tanh edge at sigma_b^2 = 0.05 (docs/theory.md: 1.76095463961)
    sw2 = theory.edge_of_chaos("tanh", 0.05).sigma_w2
    assert sw2 == pytest.approx(1.7610, abs=5e-5)
    # the j-th Dense layer draws from default_rng([seed, j]): kernel N(0, sw2 / fan_in), then bias N(0, 0.05)
    _, weights = export(ws)
    for j, fan_in in enumerate((2, 5, 3)):
        rng = np.random.default_rng([4, j])
        units = weights[2 * j].shape[1]
        np.testing.assert_allclose(weights[2 * j], rng.normal(0, np.sqrt(sw2 / fan_in), (fan_in, units)), rtol=1e-12)
        np.testing.assert_allclose(weights[2 * j + 1], rng.normal(0, np.sqrt(0.05), units), rtol=1e-12)
    # sigma_b2 is carried but unused by the other initializers
    net, _ = configure(ws, initializer="glorot_uniform")
    assert net["config"]["sigma_b2"] == 0.05
    _, weights = export(ws)
    assert not any(w.any() for w in weights[1::2])      # glorot: zero biases


def test_side_by_side_with_critical_init_puts_each_network_at_its_own_edge(client):
    # A tanh (edge sigma_w^2 = 1 at sigma_b^2 = 0), B relu (2, He et al.): the same draws, B's x sqrt(2)
    ws, *_ = open_session(client)
    configure(ws, initializer="critical", sigma_b2=0.0, layers=[{"units": 4, "activation": "tanh"}] * 2,
              compare={"activation": "relu"})
    a, b = (t.model.get_weights() for t in _session().trainers)
    for wa, wb in zip(a[0::2], b[0::2]):
        np.testing.assert_allclose(wb, np.sqrt(2.0) * wa, rtol=1e-9)


def test_export_with_critical_init_runs_and_binds_the_same_initializers(client, tmp_path):
    ws, *_ = open_session(client)
    configure(ws, dataset="moons", initializer="critical", sigma_b2=0.05,
              layers=[{"units": 5, "activation": "tanh"}, {"units": 4, "activation": "elu", "params": {"alpha": 0.5}},
                      {"units": 3, "activation": "gelu"}])
    frame = step(ws, 40)
    msg, _ = export(ws)
    script = msg["script"]
    assert "from actlab.keras.initializers import Critical" in script
    assert "kernel_initializer=Critical(activation='tanh', sigma_b2=0.05)" in script
    # layer 3 multiplies ELU outputs: its edge is ELU(alpha=0.5)'s, as the engine binds it
    assert "kernel_initializer=Critical(activation={'name': 'elu', 'alpha': 0.5}, sigma_b2=0.05)" in script
    (tmp_path / msg["script_name"]).write_text(script)
    (tmp_path / msg["weights_name"]).write_bytes(base64.b64decode(msg["weights"]))
    driver = ("import json, runpy, sys; sys.argv = ['playground_model.py']; g = runpy.run_path('playground_model.py'); "
              "print(json.dumps([layer.kernel_initializer.config() for layer in g['model'].layers "
              "if hasattr(layer, 'kernel_initializer')]))")
    out = subprocess.run([sys.executable, "-c", driver], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    loss, acc = json.loads(lines[0].split("test", 1)[1].strip())
    m = frame["models"][0]
    assert loss == pytest.approx(m["loss"]["test"], abs=2e-3) and acc == pytest.approx(m["accuracy"]["test"], abs=0.011)
    # the script's Dense layers draw from exactly the playground's critical initializers
    playground = [layer.kernel_initializer.config() for layer in _session().trainers[0].model.layers
                  if hasattr(layer, "kernel_initializer")]
    assert json.loads(lines[1]) == json.loads(json.dumps(playground))
    # and --train trains from them (a fresh model: finite loss)
    out = subprocess.run([sys.executable, msg["script_name"], "--train"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loss, _ = json.loads(out.stdout.strip().split("test", 1)[1].strip())
    assert np.isfinite(loss)


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


# -- the threat model: what Jupyter's server defends against ---------------------------------------
from starlette.testclient import WebSocketDenialResponse  # noqa: E402


def denied(client, url=WS_URL, **kwargs):
    """The 403 answer to a websocket handshake (the handshake must be refused)."""
    with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect(url, **kwargs):
        pass
    return info.value


@pytest.mark.parametrize("origin", ["http://evil.example", "http://evil.example:8000", "null",
                                    "http://127.0.0.1:8001", "https://127.0.0.1", "file://"])
def test_a_foreign_origin_is_refused_on_http_and_on_the_websocket(client, app, origin):
    r = client.get("/", headers={"Origin": origin})
    assert r.status_code == 403 and "Origin" in r.text and "cross-site" in r.text
    assert client.get("/api/status", headers={"Origin": origin}).status_code == 403
    d = denied(client, headers={"Origin": origin})
    assert d.status_code == 403 and "cross-site request refused" in d.text
    assert len(app.state.sessions) == 0                  # no session was made for it


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000",
                                    "HTTP://LOCALHOST:8000"])
def test_the_servers_own_origin_is_accepted(client, origin):
    assert client.get("/", headers={"Origin": origin}).status_code == 200
    with client.websocket_connect(WS_URL, headers={"Origin": origin}) as ws:
        assert recv(ws, "hello")["session"]


@pytest.mark.parametrize("host", ["evil.example:8000", "evil.example", "127.0.0.1.nip.io:8000",
                                  "127.0.0.1:8001", "localhost", "10.0.0.1:8000", "", "[::1"])
def test_a_foreign_host_is_refused_dns_rebinding(client, host):
    r = client.get("/", headers={"Host": host})
    assert r.status_code == 403 and "Host" in r.text
    d = denied(client, headers={"Host": host})
    assert d.status_code == 403 and "Host" in d.text


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LocalHost:8000", "[::1]:8000",
                                  "127.0.0.2:8000"])
def test_loopback_hosts_on_the_served_port_are_accepted(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 200


def test_security_helpers():
    from actlab.playground import security as S

    assert S.split_host("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert S.split_host("[::1]:80") == ("::1", 80)
    assert S.split_host("::1") == ("::1", None)
    assert S.split_host("localhost") == ("localhost", None)
    for bad in ("", "a:b", "a:", "[::1]x", "h:70000", "h:0"):
        assert S.split_host(bad) is None, bad
    assert S.is_loopback("localhost") and S.is_loopback("127.9.9.9") and S.is_loopback("[::1]")
    assert not S.is_loopback("0.0.0.0") and not S.is_loopback("::") and not S.is_loopback("example.org")
    # no Origin (curl, a top-level navigation) passes; a port mismatch does not
    assert S.check(host_header="127.0.0.1:8000", origin=None, port=8000, loopback=True) is None
    assert "port 8001" in S.check(host_header="127.0.0.1:8001", origin=None, port=8000, loopback=True)
    # beyond the loopback any Host passes (the token guards), but Origin must match it
    assert S.check(host_header="box.lan:8000", origin="http://box.lan:8000", port=8000, loopback=False) is None
    assert S.check(host_header="box.lan:8000", origin="http://evil.example", port=8000, loopback=False)
    assert S.token_matches("abc", "abc") and not S.token_matches("abd", "abc") and not S.token_matches(None, "x")
    assert S.urls("127.0.0.1", 8000) == ["http://127.0.0.1:8000/"]
    assert S.urls("::1", 8000, "t") == ["http://[::1]:8000/?token=t"]
    every = S.urls("0.0.0.0", 8123, "t")
    assert every[-1] == "http://127.0.0.1:8123/?token=t" and all(u.endswith(":8123/?token=t") for u in every)


def test_beyond_loopback_every_request_needs_the_token():
    token = "s3cret-token"
    app = create_app(loopback=False, token=token, port=8000)
    with TestClient(app, base_url="http://box.lan:8000") as c:
        r = c.get("/")
        assert r.status_code == 403 and "needs its token" in r.text and "?token=" in r.text
        r = c.get("/?token=wrong")
        assert r.status_code == 403 and "wrong" in r.text
        assert denied(c, "ws://box.lan:8000/ws").status_code == 403
        assert c.get("/static/app.js").status_code == 403
        # the token in the URL serves the page and sets a cookie, which then suffices
        r = c.get(f"/?token={token}")
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"actlab-playground-8000={token}") and "HttpOnly" in cookie
        assert c.get("/static/app.js").status_code == 200                         # with the cookie
        with c.websocket_connect("ws://box.lan:8000/ws") as ws:                    # with the cookie
            assert recv(ws, "hello")["session"]
        c.cookies.clear()
        assert c.get("/static/app.js").status_code == 403
        assert c.get("/", headers={"Authorization": f"token {token}"}).status_code == 200
        with c.websocket_connect(f"ws://box.lan:8000/ws?token={token}") as ws:     # as app.js does
            assert recv(ws, "hello")["session"]
        # any Host (the names of the machine are not known), but a foreign Origin is still refused
        assert c.get(f"/?token={token}", headers={"Host": "10.1.2.3:8000"}).status_code == 200
        d = denied(c, f"ws://box.lan:8000/ws?token={token}", headers={"Origin": "http://evil.example"})
        assert d.status_code == 403 and "Origin" in d.text


def test_cli_beyond_loopback_warns_and_prints_the_urls_with_a_token(monkeypatch):
    """``--host 0.0.0.0``: a warning on stderr, every URL with the token; nothing listens
    beyond the loopback here (the bind and the server loop are replaced)."""
    import uvicorn
    from click.testing import CliRunner

    from actlab.cli import main
    from actlab.playground import server

    seen = {}
    real_bind = server.bind
    monkeypatch.setattr(server, "bind", lambda host, port: (seen.setdefault("host", host), real_bind("127.0.0.1", 0))[1])
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.update(app=self.config.app, sockets=sockets))
    result = CliRunner().invoke(main, ["playground", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 0, result.output
    sock = seen["sockets"][0]
    port = sock.getsockname()[1]
    sock.close()
    assert seen["host"] == "0.0.0.0"
    assert "WARNING" in result.stderr and "0.0.0.0" in result.stderr and "token" in result.stderr
    urls = [w for w in result.stdout.split() if w.startswith("http://")]
    assert urls and all(f":{port}/?token=" in u for u in urls)
    assert urls[-1].startswith(f"http://127.0.0.1:{port}/")
    token = urls[0].split("?token=")[1]
    assert len(token) >= 32 and all(u.endswith(token) for u in urls)
    with TestClient(seen["app"], base_url=f"http://127.0.0.1:{port}") as c:   # the app it would serve
        assert c.get("/").status_code == 403
        assert c.get(f"/?token={token}").status_code == 200
    # on the loopback: no warning, no token
    result = CliRunner().invoke(main, ["playground", "--port", "0"])
    seen["sockets"][0].close()
    assert result.exit_code == 0 and "WARNING" not in result.stderr and "token" not in result.stdout
    assert seen["host"] == "0.0.0.0" and seen.get("app") is not None


# -- resource exhaustion: the idle timeout and the per-client cap --------------------------------------
def test_an_idle_session_is_closed_and_its_slot_freed():
    app = create_app(max_sessions=1, idle_timeout=0.4)
    with TestClient(app, base_url=BASE) as c:
        ws, cm = connect(c)
        recv(ws, "frame")
        msg = recv(ws, "error")                        # sent by the server once the tab is idle
        assert msg["fatal"] and "sent nothing for 0 s" not in msg["message"] and "reload" in msg["message"]
        assert len(app.state.sessions) == 0
        close(cm)
        # its slot is free: a new tab gets a session although max_sessions is 1
        ws, cm = connect(c)
        assert recv(ws, "hello")["session"]
        close(cm)


def test_a_tab_that_sends_messages_is_not_idle():
    app = create_app(idle_timeout=0.6)
    with TestClient(app, base_url=BASE) as c:
        ws, cm = connect(c)
        recv(ws, "frame")
        for _ in range(6):                             # 1.2 s in all, a message every 0.2 s
            time.sleep(0.2)
            assert step(ws, 1)["type"] == "frame"
        assert len(app.state.sessions) == 1
        close(cm)


def test_per_client_cap_and_the_refusal_says_when_to_come_back():
    from contextlib import ExitStack

    now = [1000.0]
    app = create_app(max_sessions=3, max_sessions_per_client=2, idle_timeout=600, clock=lambda: now[0])
    with ExitStack() as tabs:
        a = tabs.enter_context(TestClient(app, base_url=BASE))
        recv(tabs.enter_context(a.websocket_connect(WS_URL)), "hello")
        now[0] += 100
        recv(tabs.enter_context(a.websocket_connect(WS_URL)), "hello")
        now[0] += 25
        with a.websocket_connect(WS_URL) as ws:        # the client's third tab
            msg = ws.receive_json()
        assert msg["type"] == "error" and msg["fatal"]
        assert "this client (testclient) already has 2" in msg["message"] and "limit per client" in msg["message"]
        # the first tab idles out at 1000 + 600: 475 s from now
        assert msg["retry_after"] == 475 and "7 min 55 s" in msg["message"] and "10 min" in msg["message"]
        assert len(app.state.sessions) == 2
        # another client still gets in; then the server is full for everyone
        b = tabs.enter_context(TestClient(app, base_url=BASE, client=("10.0.0.2", 5000)))
        assert recv(tabs.enter_context(b.websocket_connect(WS_URL)), "hello")["session"]
        assert len(app.state.sessions) == 3
        c = tabs.enter_context(TestClient(app, base_url=BASE, client=("10.0.0.3", 5000)))
        with c.websocket_connect(WS_URL) as ws:
            msg = ws.receive_json()
        assert msg["fatal"] and "the server already has 3 sessions" in msg["message"]
        assert msg["retry_after"] == 475


# -- a diverged network stays controllable -------------------------------------------------------------
def test_a_diverged_network_shows_diverged_and_can_be_reset_and_reconfigured(client):
    ws, *_ = open_session(client)
    net, frame = configure(ws, layers=[{"units": 8, "activation": "exponential"}] * 3, learning_rate=10.0,
                           batch_size=1, seed=1)
    frame = step(ws, 5)                        # used to be "Out of range float values are not JSON compliant"
    m = frame["models"][0]
    assert m["diverged"] and "diverged" in m["diverged"]
    assert m["loss"] == {"train": None, "test": None}
    assert all(abs(w) <= 1e6 for layer in m["weights"] for row in layer for w in row)
    ws.send_json({"type": "play"})             # playing a diverged network stops at once
    assert recv(ws, "frame")["playing"] is False
    ws.send_json({"type": "reset"})
    recv(ws, "network")
    frame = recv(ws, "frame")
    assert frame["step"] == 0 and frame["models"][0]["diverged"] is None
    configure(ws, learning_rate=0.01, layers=[{"units": 4, "activation": "tanh"}])
    frame = step(ws, 20)
    assert frame["models"][0]["diverged"] is None and frame["models"][0]["loss"]["test"] is not None


def test_encode_turns_non_finite_values_into_null():
    assert json.loads(P.encode({"a": [1.0, float("inf"), float("nan")], "b": {"c": -float("inf")}})) == \
        {"a": [1.0, None, None], "b": {"c": None}}
    assert P.encode({"x": 1.5}) == '{"x":1.5}'


# -- the event loop only moves bytes ----------------------------------------------------------------------
def test_training_frames_and_encoding_run_in_worker_threads(client, monkeypatch):
    import threading

    from actlab.playground import server
    from actlab.playground.session import Session

    where: dict[str, set] = {}

    def spy(name, fn):
        def wrapped(*args, **kwargs):
            where.setdefault(name, set()).add(threading.current_thread().name)
            return fn(*args, **kwargs)
        return wrapped

    for name in ("frame", "network", "step", "apply_config", "export"):
        monkeypatch.setattr(Session, name, spy(name, getattr(Session, name)))
    monkeypatch.setattr(server, "hello", spy("hello", server.hello))
    real_encode = P.encode
    monkeypatch.setattr(P, "encode", lambda payload: (spy(f"encode {payload['type']}", real_encode)(payload)))
    ws, *_ = open_session(client)
    configure(ws, layers=[{"units": 3, "activation": "relu"}])
    step(ws, 2)
    export(ws)
    ws.send_json({"type": "play"})
    recv(ws, "frame")
    ws.send_json({"type": "pause"})
    assert {"frame", "network", "step", "apply_config", "export", "hello", "encode frame", "encode network",
            "encode hello", "encode export"} <= set(where)
    threads = set().union(*where.values())
    assert all(t.startswith("playground-") for t in threads), where
    assert any(t.startswith("playground-train") for t in where["step"])     # play trains in the train pool


# -- a real server on 127.0.0.1: its page loads at once while 32 heavy sessions train ---------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def real_server(tmp_path):
    """``actlab playground`` in its own process on a free 127.0.0.1 port; yields (port, process)."""
    import os
    import socket

    pytest.importorskip("uvicorn")
    started = []

    def start(*args):
        port = free_port()
        code = "from actlab.cli import main; main()"
        proc = subprocess.Popen([sys.executable, "-c", code, "playground", "--port", str(port), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        started.append(proc)
        line = proc.stdout.readline()             # printed once the socket listens
        assert f"127.0.0.1:{port}" in line, line + proc.stdout.read() if proc.poll() is not None else line
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                return port, proc
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "the server did not start"
                time.sleep(0.1)

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def raw_get(port, path="/", headers=None, timeout=10.0):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_real_server_refuses_foreign_origin_and_host(real_server):
    import asyncio

    websockets = pytest.importorskip("websockets")
    from websockets.asyncio.client import connect as ws_connect

    port, _ = real_server()
    assert raw_get(port)[0] == 200
    status, body = raw_get(port, headers={"Host": f"evil.example:{port}"})       # DNS rebinding
    assert status == 403 and "loopback" in body
    status, body = raw_get(port, headers={"Origin": "http://evil.example"})
    assert status == 403 and "cross-site" in body

    async def handshake(**kwargs):
        try:
            async with ws_connect(f"ws://127.0.0.1:{port}/ws", proxy=None, open_timeout=10, **kwargs) as ws:
                return 101, json.loads(await ws.recv())["type"]
        except websockets.exceptions.InvalidStatus as exc:
            return exc.response.status_code, exc.response.body.decode()

    assert asyncio.run(handshake(origin=f"http://127.0.0.1:{port}")) == (101, "hello")
    status, body = asyncio.run(handshake(origin="http://evil.example"))       # cross-site websocket hijacking
    assert status == 403 and "cross-site" in body
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    status, body = raw_get(port, "/ws", headers={**upgrade, "Host": f"evil.example:{port}"})
    assert status == 403 and "loopback" in body
    assert raw_get(port, "/ws", headers={**upgrade, "Origin": "http://evil.example"})[0] == 403


HEAVY = {"dataset": "spiral", "n_points": P.MAX_POINTS, "features": ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"],
         "layers": [{"units": P.MAX_NEURONS, "activation": "tanh"}] * P.MAX_LAYERS, "batch_size": 1}


@pytest.mark.slow
def test_the_page_loads_in_under_a_second_while_32_heavy_sessions_train(real_server):
    """32 tabs on the largest network and the most points: half of them play, half click "step"
    over and over (each click trains and draws a frame); meanwhile the page must load in under
    a second (the issue measured 10.8 s: frames were drawn and encoded on the event loop).
    Bounded: 32 sessions, a few seconds of load, five page loads whose median must stay under
    1 s (the median keeps one slow try on a busy 2-core machine from failing the test)."""
    import asyncio
    import threading

    pytest.importorskip("websockets")
    from websockets.asyncio.client import connect as ws_connect

    n = P.MAX_SESSIONS
    port, _ = real_server("--max-sessions-per-client", str(n))
    frames = [0] * n
    busy = [False] * n
    stop = threading.Event()
    failure: list[BaseException] = []

    async def tab(i):
        async with ws_connect(f"ws://127.0.0.1:{port}/ws", proxy=None, origin=f"http://127.0.0.1:{port}",
                              open_timeout=60, max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "config", "config": HEAVY}))
            while json.loads(await ws.recv())["type"] != "network":
                pass
            stepping = i % 2 == 1
            await ws.send(json.dumps({"type": "step", "n": 1} if stepping else {"type": "play"}))
            busy[i] = True
            while not stop.is_set():
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except asyncio.TimeoutError:
                    continue
                if msg["type"] == "frame":
                    frames[i] += 1
                    if stepping:                      # the next click
                        await ws.send(json.dumps({"type": "step", "n": 1}))
                elif msg["type"] == "error":
                    raise AssertionError(msg["message"])

    async def tabs():
        await asyncio.gather(*(tab(i) for i in range(n)))

    def run():
        try:
            asyncio.run(tabs())
        except BaseException as exc:      # noqa: BLE001 - reported by the test
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not all(busy) or sum(frames) < n:       # every tab has its network and trains; frames flow
            assert not failure, failure
            assert time.monotonic() < deadline, f"only {sum(busy)} of {n} tabs train, {sum(frames)} frames"
            time.sleep(0.1)
        assert json.loads(raw_get(port, "/api/status", timeout=60)[1])["sessions"] == n
        times = []
        before = sum(frames)
        for _ in range(5):
            t0 = time.perf_counter()
            status, body = raw_get(port, "/", timeout=60)
            times.append(time.perf_counter() - t0)
            assert status == 200 and "<canvas" in body
            time.sleep(0.2)
        assert sum(frames) > before                    # the tabs trained while the page loaded
    finally:
        stop.set()
        thread.join(30)
    assert not failure, failure
    assert sorted(times)[2] < 1.0, f"page load times under load: {[round(t, 3) for t in times]} s"
