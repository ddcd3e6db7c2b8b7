"""End-to-end tests of the playground in a real headless Chromium (Debian's ``chromium``).

The server runs on a free 127.0.0.1 port in a thread; Playwright drives the page. Screenshots
go to ``artifacts/playground/`` (gitignored); with ``ACTLAB_PLAYGROUND_DOC_IMAGES=1`` the
README's screenshots ``docs/img/playground-*.png`` are written too.

Skipped, with the reason, only where no browser can be had: no ``/usr/bin/chromium`` or no
``playwright`` module (``apt-get install chromium``; ``pip install 'actlab[web,browser]'``;
never ``playwright install``: the system Chromium is used).
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright module is missing (pip install playwright)")
pytest.importorskip("uvicorn", reason="the playground server needs uvicorn (pip install 'actlab[web]')")
pytest.importorskip("starlette", reason="the playground server needs starlette (pip install 'actlab[web]')")

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "playground"
DOC_IMAGES = REPO / "docs" / "img"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server_url():
    import uvicorn

    from actlab.playground.server import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           ws="auto"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            pytest.fail("the playground server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server_url):
    context = browser.new_context(viewport={"width": 1360, "height": 860}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.base_url = server_url
    pg.js_errors = errors
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def load(page, hash_: str = ""):
    page.goto(page.base_url + hash_)
    page.wait_for_function("window.playground && window.playground.S.frame !== null")
    if hash_:   # the configuration from the URL comes as a second network message
        page.wait_for_function("window.playground.S.networkCount >= 2 && window.playground.S.frame !== null")


def shot(page, name: str, doc: bool = False, full_page: bool = False):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if doc and os.environ.get("ACTLAB_PLAYGROUND_DOC_IMAGES"):
        _small_png(path, DOC_IMAGES / f"playground-{name}.png")
    return path


def _small_png(src: Path, dst: Path):
    """A palette PNG of the screenshot (well under 300 KB for the README)."""
    from PIL import Image

    dst.parent.mkdir(parents=True, exist_ok=True)
    Image.open(src).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)


def js(page, expr: str):
    return page.evaluate(f"() => {expr}")


def after_network(page, action):
    """Run ``action`` (a UI change) and wait for the server's new network and its frame."""
    n = js(page, "window.playground.S.networkCount")
    action()
    page.wait_for_function(f"window.playground.S.networkCount > {n} && window.playground.S.frame !== null")
    return js(page, "window.playground.S.config")


def set_value(page, selector: str, value: str):
    """Type a value into an input and commit it (one change event, as a user leaving the field)."""
    page.eval_on_selector(selector, "(e, v) => { e.value = v; e.dispatchEvent(new Event('input')); "
                                    "e.dispatchEvent(new Event('change')); }", value)


def canvas_pixels(page, selector="#boundary") -> list[int]:
    return page.evaluate("""(sel) => {
        const c = document.querySelector(sel);
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
    }""", selector)


def fraction_changed(a, b) -> float:
    px = len(a) // 4
    changed = sum(1 for i in range(px) if any(abs(a[4 * i + k] - b[4 * i + k]) > 24 for k in range(3)))
    return changed / px


def shown_test_loss(page, suffix=""):
    text = page.text_content(f"#test-loss{suffix}")
    return float(text)


def train_for(page, seconds: float):
    page.click("#play")
    page.wait_for_function("window.playground.S.playing === true")
    time.sleep(seconds)
    page.click("#play")
    page.wait_for_function("window.playground.S.playing === false")


# ---------------------------------------------------------------------------------------------
def test_linear_model_stays_high_on_the_circle_and_tanh_learns_it(page):
    load(page)
    after_network(page, lambda: page.click('button[data-dataset="circle"]'))
    after_network(page, lambda: page.select_option("#learning_rate", "0.1"))
    while js(page, "window.playground.S.config.layers.length"):
        after_network(page, lambda: page.click("#remove-layer"))
    assert page.text_content("#n-layers") == "0"
    assert js(page, "document.querySelectorAll('#columns .column.hidden').length") == 0
    for _ in range(8):                     # eight epochs, one per click of "step"
        step = js(page, "window.playground.S.frame.step")
        page.click("#step")
        page.wait_for_function(f"window.playground.S.frame.step > {step}")
    linear_loss = shown_test_loss(page)
    assert linear_loss > 0.6, "a straight line cannot separate the circle"
    before = canvas_pixels(page)
    shot(page, "linear-circle", doc=True)

    cfg = after_network(page, lambda: page.click("#add-layer"))
    assert len(cfg["layers"]) == 1
    cfg = after_network(page, lambda: page.select_option('select.act[data-layer="0"]', "tanh"))
    assert cfg["layers"][0]["activation"] == "tanh"
    page.click("#play")
    page.wait_for_function("parseFloat(document.querySelector('#test-loss').textContent) < 0.3", timeout=60_000)
    page.click("#play")
    page.wait_for_function("window.playground.S.playing === false")
    assert shown_test_loss(page) < 0.3 < linear_loss
    after = canvas_pixels(page)
    assert fraction_changed(before, after) > 0.1, "the boundary canvas should change from a line to a closed curve"
    shot(page, "tanh-circle", doc=True)


def test_deep_sigmoid_net_shows_vanishing_gradient_bars(page):
    layers = ",".join(["8:sigmoid"] * 6)
    load(page, f"#dataset=circle&layers={layers}")
    assert js(page, "window.playground.S.config.layers.length") == 6
    page.wait_for_function("document.querySelector('.gradbar[data-layer=\"0\"]').dataset.norm !== ''")
    norms = page.eval_on_selector_all("#columns .gradbar", "els => els.map(e => parseFloat(e.dataset.norm))")
    assert len(norms) == 7                                  # six hidden layers and the output
    assert norms[0] < 1e-2 * norms[5], f"the first layer's gradient should vanish: {norms}"
    widths = page.eval_on_selector_all("#columns .gradbar .fill", "els => els.map(e => e.getBoundingClientRect().width)")
    assert widths[0] < widths[5]
    colour = page.eval_on_selector(".gradbar[data-layer='0'] .fill", "e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(214, 39, 40)"                     # red: vanishing
    # the activation's curve and derivative are drawn beside every layer
    assert js(page, "document.querySelectorAll('canvas.curve').length") == 6
    curve = canvas_pixels(page, "canvas.curve[data-layer='0']")
    assert sum(1 for i in range(0, len(curve), 4) if curve[i + 3] > 0) > 100
    train_for(page, 2.0)       # and it barely learns
    shot(page, "deep-sigmoid", doc=True)


def test_high_learning_rate_relu_units_are_marked_dead(page):
    load(page, "#dataset=circle&seed=2&learning_rate=2&layers=8:relu,8:relu,8:relu")
    assert js(page, "document.querySelectorAll('.neuron.dead').length") <= 1
    page.click("#play")
    page.wait_for_function("document.querySelectorAll('.neuron.dead').length >= 4", timeout=30_000)
    page.click("#play")
    dead = js(page, "document.querySelectorAll('.neuron.dead').length")
    flags = js(page, "window.playground.S.frame.models[0].dead.flat().filter(Boolean).length")
    assert dead == flags >= 4
    assert "dead" in page.text_content(".deadcount.some")
    title = page.get_attribute(".neuron.dead", "title")
    assert title.startswith("dead since step")
    shot(page, "dying-relu", doc=True)
    # leaky ReLU at the same rate: no unit dies
    after_network(page, lambda: page.select_option("#global_activation", "leaky_relu"))
    train_for(page, 2.0)
    assert js(page, "document.querySelectorAll('.neuron.dead').length") == 0


def test_side_by_side_trains_two_activations_at_once(page):
    layers = ",".join(["8:sigmoid"] * 5)
    load(page, f"#dataset=circle&layers={layers}&learning_rate=0.03")
    assert page.is_hidden("#fig-b")
    cfg = after_network(page, lambda: page.select_option("#compare", "relu"))
    assert cfg["compare"] == {"activation": "relu"}
    assert page.is_visible("#fig-b") and page.is_visible("#compare-panel")
    w = js(page, "window.playground.S.frame.models.map(m => JSON.stringify(m.weights))")
    assert w[0] == w[1], "both networks start from the same weights"
    g0 = js(page, "window.playground.S.frame.models[0].grad_norms")
    assert g0[0] < 1e-2 * g0[4], "at the start, the sigmoid net's gradient vanishes towards the input"
    # the per-layer table of the two networks, from the same initial weights
    bars = page.eval_on_selector_all("#grad-compare .gradbar", "els => els.map(e => [+e.dataset.model, "
                                     "+e.dataset.layer, parseFloat(e.dataset.norm)])")
    assert len(bars) == 2 * 6
    norm = {(m, l): g for m, l, g in bars}
    assert norm[(0, 0)] < 1e-2 * norm[(1, 0)], "sigmoid's first layer gets far less gradient than ReLU's"
    b0 = canvas_pixels(page, "#boundary-b")
    train_for(page, 3.0)
    a1, b1 = canvas_pixels(page, "#boundary"), canvas_pixels(page, "#boundary-b")
    assert fraction_changed(b0, b1) > 0.02, "the ReLU net learns"
    assert fraction_changed(a1, b1) > 0.02, "sigmoid and relu should draw different boundaries"
    assert float(page.text_content("#test-loss-b")) < float(page.text_content("#test-loss")) - 0.1
    assert "relu" in page.text_content("#cap-b")
    # network B has its own diagram: every unit of its 5 hidden layers, its inputs and output,
    # each neuron's heatmap drawn from B's own outputs (they differ from A's after training)
    n_inputs = len(cfg["features"])
    assert js(page, "document.querySelectorAll('#columns-b .neuron').length") == n_inputs + 5 * 8 + 1
    labels = page.eval_on_selector_all("#columns-b .column.hidden .col-label", "els => els.map(e => e.textContent)")
    assert labels == ["relu"] * 5
    same = []
    for unit in range(8):
        a_px = canvas_pixels(page, f"#columns .neuron[data-layer='4'][data-unit='{unit}'] canvas")
        b_px = canvas_pixels(page, f"#columns-b .neuron[data-layer='4'][data-unit='{unit}'] canvas")
        assert len(set(b_px)) > 2, "B's neuron heatmap is drawn"
        same.append(fraction_changed(a_px, b_px) < 0.02)
    assert sum(same) <= 1, "B's last hidden layer shows B's units, not A's"
    # its links are drawn from B's weights
    links = canvas_pixels(page, "#links-b")
    assert sum(1 for i in range(3, len(links), 4) if links[i] > 0) > 500
    shot(page, "side-by-side", doc=True, full_page=True)


def test_side_by_side_marks_network_b_dead_units(page):
    """Leaky ReLU (A) against ReLU (B) at a high learning rate: B's units die, A's cannot."""
    load(page, "#dataset=circle&seed=2&learning_rate=2&layers=8:leaky_relu,8:leaky_relu,8:leaky_relu&compare=relu")
    page.click("#play")
    page.wait_for_function("document.querySelectorAll('#columns-b .neuron.dead').length >= 4", timeout=30_000)
    page.click("#play")
    page.wait_for_function("window.playground.S.playing === false")
    dead_b = js(page, "document.querySelectorAll('#columns-b .neuron.dead').length")
    flags_b = js(page, "window.playground.S.frame.models[1].dead.flat().filter(Boolean).length")
    assert dead_b == flags_b >= 4
    assert js(page, "document.querySelectorAll('#columns .neuron.dead').length") == 0
    assert js(page, "window.playground.S.frame.models[0].dead.flat().filter(Boolean).length") == 0
    assert page.get_attribute("#columns-b .neuron.dead", "title").startswith("dead since step")
    counts = page.eval_on_selector_all("#grad-compare .deadcount[data-model='1']", "els => els.map(e => e.textContent)")
    assert any(c.startswith("dead") for c in counts)
    shot(page, "side-by-side-dying")


def test_frame_rate_of_a_2x8_network(page):
    load(page, "#dataset=circle&layers=8:tanh,8:tanh")
    page.click("#play")
    page.wait_for_function("window.playground.S.playing === true")
    time.sleep(0.5)
    n0, t0 = js(page, "window.playground.S.frameCount"), time.time()
    time.sleep(3.0)
    n1, t1 = js(page, "window.playground.S.frameCount"), time.time()
    page.click("#play")
    fps = (n1 - n0) / (t1 - t0)
    assert fps >= 10, f"{fps:.1f} frames per second"


def test_every_control_reaches_the_server(page):
    load(page)
    S = "window.playground.S"
    for sel, value, key, expected in [
        ("#learning_rate", "0.3", "learning_rate", 0.3),
        ("#batch_size", "20", "batch_size", 20),
        ("#optimizer", "adam", "optimizer", "adam"),
        ("#initializer", "he_normal", "initializer", "he_normal"),
        ("#l1", "0.001", "l1", 0.001),
        ("#l2", "0.01", "l2", 0.01),
    ]:
        cfg = after_network(page, lambda: page.select_option(sel, value))
        assert cfg[key] == expected, sel
    for sel, value, key, expected in [("#noise", "25", "noise", 0.25), ("#train_ratio", "70", "train_ratio", 0.7),
                                      ("#n_points", "300", "n_points", 300)]:
        cfg = after_network(page, lambda: set_value(page, sel, value))
        assert cfg[key] == expected, sel
    assert len(js(page, f"{S}.net.points.x")) == 300
    assert len(js(page, f"{S}.net.points.train")) == 210
    cfg = after_network(page, lambda: set_value(page, "#seed", "42"))
    assert cfg["seed"] == 42
    cfg = after_network(page, lambda: page.click("#regenerate"))
    assert cfg["seed"] == 43
    # inputs
    cfg = after_network(page, lambda: page.click('.feature[data-feature="x1sq"]'))
    assert cfg["features"] == ["x1", "x2", "x1sq"]
    assert js(page, "document.querySelectorAll('.feature:not(.off)').length") == 3
    cfg = after_network(page, lambda: page.click('.feature[data-feature="x1"]'))
    assert cfg["features"] == ["x2", "x1sq"]
    # layers and neurons
    cfg = after_network(page, lambda: page.click("#add-layer"))
    assert len(cfg["layers"]) == 3
    cfg = after_network(page, lambda: page.click('.column[data-layer="0"] .pm button[title="add a neuron"]'))
    assert cfg["layers"][0]["units"] == 5
    assert js(page, "document.querySelectorAll('.neuron[data-layer=\"0\"]').length") == 5
    cfg = after_network(page, lambda: page.click('.column[data-layer="1"] .pm button[title="remove a neuron"]'))
    assert cfg["layers"][1]["units"] == 1
    # a per-layer activation with its parameter: PReLU's initial alpha, RReLU's range
    cfg = after_network(page, lambda: page.select_option('select.act[data-layer="0"]', "prelu"))
    assert cfg["layers"][0]["activation"] == "prelu"
    cfg = after_network(page, lambda: set_value(page, '.column[data-layer="0"] input[data-param="alpha"]', "0.25"))
    assert cfg["layers"][0]["params"] == {"alpha": 0.25}
    cfg = after_network(page, lambda: page.select_option('select.act[data-layer="1"]', "rrelu"))
    cfg = after_network(page, lambda: set_value(page, '.column[data-layer="1"] input[data-param="upper"]', "0.5"))
    assert cfg["layers"][1]["params"] == {"upper": 0.5}
    cfg = after_network(page, lambda: page.select_option("#global_activation", "gelu"))
    assert [layer["activation"] for layer in cfg["layers"]] == ["gelu"] * 3
    # every data set, multi-class and regression included
    for name in ("xor", "gauss", "spiral", "moons", "gauss3", "spiral3", "reg_plane", "reg_gauss", "circle"):
        cfg = after_network(page, lambda: page.click(f'button[data-dataset="{name}"]'))
        assert cfg["dataset"] == name
        kind = js(page, f"{S}.net.kind")
        assert kind == {"gauss3": "multiclass", "spiral3": "multiclass", "reg_plane": "regression",
                        "reg_gauss": "regression"}.get(name, "binary")
        outputs = js(page, "document.querySelectorAll('.neuron[data-output]').length")
        assert outputs == (3 if kind == "multiclass" else 1)
    # step, then reset to step 0
    page.click("#step")
    page.wait_for_function(f"{S}.frame.step > 0")
    n_train, batch = js(page, f"{S}.net.points.train.length"), js(page, f"{S}.config.batch_size")
    assert js(page, f"{S}.frame.step") == -(-n_train // batch)       # one epoch
    after_network(page, lambda: page.click("#reset"))
    assert js(page, f"{S}.frame.step") == 0
    # display switches redraw the output
    before = canvas_pixels(page)
    page.check("#show-test")
    page.check("#discretize")
    assert fraction_changed(before, canvas_pixels(page)) > 0.01
    # removing every layer: a linear model; removing one more is refused on the page
    while js(page, f"{S}.config.layers.length"):
        after_network(page, lambda: page.click("#remove-layer"))
    page.click("#remove-layer")
    assert "no hidden layer left" in page.text_content("#error")


def test_state_lives_in_the_url(page):
    load(page, "#dataset=xor&seed=7&noise=0.1&learning_rate=0.01&features=x1,x2,x1x2"
               "&layers=5:prelu(alpha%3D0.25),3:elu&compare=relu")
    cfg = js(page, "window.playground.S.config")
    assert cfg["dataset"] == "xor" and cfg["seed"] == 7 and cfg["noise"] == 0.1
    assert cfg["features"] == ["x1", "x2", "x1x2"]
    assert cfg["layers"] == [{"units": 5, "activation": "prelu", "params": {"alpha": 0.25}},
                             {"units": 3, "activation": "elu"}]
    assert cfg["compare"] == {"activation": "relu"}
    after_network(page, lambda: page.select_option("#optimizer", "rmsprop"))
    url = page.url
    assert "optimizer=rmsprop" in url and "seed=7" in url
    load(page, url[url.index("#"):])
    again = js(page, "window.playground.S.config")
    assert again == {**cfg, "optimizer": "rmsprop"}


def test_critical_initializer_with_its_bias_variance(page):
    load(page)
    assert js(page, "document.querySelector('#sigma_b2_ctl').hidden") is True
    cfg = after_network(page, lambda: page.select_option("#initializer", "critical"))
    assert cfg["initializer"] == "critical"
    assert page.is_visible("#sigma_b2")
    cfg = after_network(page, lambda: page.select_option("#sigma_b2", "0.05"))
    assert cfg["sigma_b2"] == 0.05
    assert "initializer=critical" in page.url and "sigma_b2=0.05" in page.url
    url = page.url
    load(page, url[url.index("#"):])
    assert js(page, "window.playground.S.config") == cfg
    # relu has no edge of chaos with a bias variance: refused, and the controls show what is in force
    page.select_option("#global_activation", "relu")
    page.wait_for_function("document.querySelector('#error').textContent.includes('initializer critical refused')")
    assert js(page, "window.playground.S.config") == cfg
    assert js(page, "document.querySelector('#global_activation').value") == "tanh"
    cfg = after_network(page, lambda: page.select_option("#initializer", "he_normal"))
    assert js(page, "document.querySelector('#sigma_b2_ctl').hidden") is True and "sigma_b2" not in page.url


def test_bad_input_shows_an_error_and_changes_nothing(page, tmp_path):
    load(page)
    cfg = js(page, "window.playground.S.config")
    page.evaluate("() => window.playground.sendConfig({learning_rate: -1})")
    page.wait_for_selector("#error:not([hidden])")
    assert "learning_rate must be between" in page.text_content("#error")
    page.evaluate("() => window.playground.send({type: 'config', config: {layers: [{units: 99, activation: 'relu'}]}})")
    page.wait_for_function("document.querySelector('#error').textContent.includes('units')")
    assert js(page, "window.playground.S.config") == cfg
    # a bad CSV: a clear message
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2,0\n3,abc,1\n")
    page.set_input_files("#csv", str(bad))
    page.wait_for_function("document.querySelector('#error').textContent.startsWith('bad CSV file')")
    assert "line 3" in page.text_content("#error")
    # a good one
    good = tmp_path / "good.csv"
    good.write_text("\n".join(f"{x},{y},{int(x > y)}" for x in range(-4, 5) for y in range(-4, 5)))
    cfg = after_network(page, lambda: page.set_input_files("#csv", str(good)))
    assert cfg["dataset"] == "upload" and len(js(page, "window.playground.S.net.points.x")) == 81


def test_export_downloads_a_keras_compatible_script_and_weights(page, tmp_path):
    load(page, "#dataset=moons&layers=4:tanh")
    page.click("#step")
    with page.expect_download() as first:
        page.click("#export")
    download = first.value
    assert download.suggested_filename == "playground_model.py"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    script = path.read_text()
    assert "from actlab.keras.models import Sequential" in script
    compile(script, str(path), "exec")
    msg = js(page, "window.playground.S.lastExport")
    assert msg["weights_name"] == "playground_weights.npz" and len(msg["weights"]) > 100
    assert json.loads(json.dumps(msg))["type"] == "export"


def test_a_diverged_network_says_so_and_stays_controllable(page):
    """exponential at learning rate 10, batch 1: it diverges in the first step; the tab shows
    "diverged" (it used to lose its connection to a JSON error) and reset and settings still work."""
    load(page, "#dataset=circle&seed=1&learning_rate=10&batch_size=1&layers=8:exponential,8:exponential,8:exponential")
    page.click("#step")
    page.wait_for_function("document.querySelector('#test-loss').textContent === 'diverged'")
    assert "diverged at step" in page.text_content("#error")
    assert js(page, "window.playground.S.ws.readyState") == 1            # still connected
    page.click("#reset")
    page.wait_for_function("window.playground.S.frame && window.playground.S.frame.step === 0 "
                           "&& document.querySelector('#test-loss').textContent !== 'diverged'")
    cfg = after_network(page, lambda: page.evaluate(
        "() => window.playground.sendConfig({learning_rate: 0.03, layers: [{units: 4, activation: 'tanh'}]})"))
    assert cfg["learning_rate"] == 0.03
    page.click("#step")
    page.wait_for_function("window.playground.S.frame.step > 0")
    assert js(page, "window.playground.S.frame.models[0].diverged") is None
    assert page.text_content("#test-loss") != "diverged"
