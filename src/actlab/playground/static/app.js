// actlab playground front end: vanilla JS + canvas, no build step, no network beyond its own server.
// The server trains (actlab's NumPy engine) and sends frames; this file draws them and turns
// every control into a validated websocket message. The whole configuration lives in the URL.
"use strict";

const POS = [8, 119, 189], NEG = [245, 147, 34], WHITE = [232, 234, 235];
const PALETTE = [[8, 119, 189], [245, 147, 34], [44, 160, 44], [148, 103, 189], [214, 39, 40], [140, 86, 75]];
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const BATCHES = [1, 2, 5, 10, 20, 30, 50, 100, 200, 500];
const REGS = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
const SIGMA_B2S = [0, 0.01, 0.05, 0.1, 0.2, 0.5, 1];   // the critical initializer's bias variance
const FEATURE_FN = {
  x1: (a, b) => a, x2: (a, b) => b, x1sq: (a, b) => a * a, x2sq: (a, b) => b * b,
  x1x2: (a, b) => a * b, sinx1: (a, b) => Math.sin(a), sinx2: (a, b) => Math.sin(b),
};
const DATASET_LABELS = {
  circle: "circle", xor: "xor", gauss: "gauss", spiral: "spiral", moons: "moons",
  gauss3: "3 gauss", spiral3: "3 spirals", reg_plane: "plane (regr.)", reg_gauss: "gauss (regr.)",
};

const S = {
  ws: null, hello: null, net: null, frame: null, config: null, playing: false,
  history: [[], []], deadSince: [{}, {}], framesThisSecond: 0, fps: 0, frameCount: 0,
  errors: [], fatal: null, lastExport: null, nodes: null, nodesB: null, networkCount: 0,
};
window.playground = { S, send, sendConfig };

const $ = (id) => document.getElementById(id);
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

// ---------------------------------------------------------------- connection
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  // beyond the loopback the server wants its token (a cookie carries it too)
  const token = new URLSearchParams(location.search).get("token");
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  S.ws = new WebSocket(`${proto}://${location.host}/ws${query}`);
  S.ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    const handler = HANDLERS[msg.type];
    if (handler) handler(msg);
  };
  S.ws.onclose = () => {
    // a fatal error (server full, idle timeout) already says why: keep it on screen
    if (!S.fatal) showError("the connection to the server closed: reload the page to start again", true);
  };
}

function send(msg) {
  if (!S.ws || S.ws.readyState !== WebSocket.OPEN) { showError("not connected to the server"); return; }
  S.ws.send(JSON.stringify(msg));
}
function sendConfig(partial) { send({ type: "config", config: partial }); }

const HANDLERS = { hello: onHello, network: onNetwork, frame: onFrame, error: onError, export: onExport };

function onError(msg) {
  S.errors.push(msg.message);
  if (msg.fatal) S.fatal = msg.message;
  if (S.config) syncControls();      // a refused change: the controls show the settings in force
  showError(msg.message, msg.fatal);
}
let errorTimer = null;
function showError(text, sticky) {
  const box = $("error");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(errorTimer);
  if (!sticky) errorTimer = setTimeout(() => { box.hidden = true; }, 8000);
}

// ---------------------------------------------------------------- hello: build the controls
function fillSelect(sel, values, labeller = String) {
  sel.innerHTML = "";
  for (const v of values) sel.append(el("option", { value: String(v), text: labeller(v) }));
}

function onHello(h) {
  S.hello = h;
  fillSelect($("learning_rate"), LRS);
  fillSelect($("batch_size"), BATCHES);
  fillSelect($("l1"), REGS, (v) => (v === 0 ? "none" : String(v)));
  fillSelect($("l2"), REGS, (v) => (v === 0 ? "none" : String(v)));
  fillSelect($("optimizer"), h.optimizers);
  fillSelect($("initializer"), h.initializers);
  fillSelect($("sigma_b2"), SIGMA_B2S);
  const names = h.activations.map((a) => a.name);
  fillSelect($("global_activation"), ["", ...names], (v) => (v === "" ? "(per layer)" : v));
  fillSelect($("compare"), ["", ...names], (v) => (v === "" ? "off" : v));
  const box = $("datasets");
  box.innerHTML = "";
  for (const [name, kind] of Object.entries(h.datasets)) {
    const c = el("canvas", { width: 52, height: 52 });
    drawThumb(c, h.thumbnails[name]);
    box.append(el("button", { "data-dataset": name, title: `${name} (${kind})`,
      onclick: () => sendConfig({ dataset: name }) }, c, DATASET_LABELS[name] || name));
  }
  const fromUrl = parseHash();
  if (Object.keys(fromUrl).length) sendConfig(fromUrl);
}

function drawThumb(c, t) {
  const g = c.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height);
  t.x.forEach(([a, b], i) => {
    g.fillStyle = rgb(labelColour(t.label[i], t.kind));
    g.fillRect((a + 6) / 12 * c.width - 1, (6 - b) / 12 * c.height - 1, 2.5, 2.5);
  });
}

// ---------------------------------------------------------------- URL state
const SCALARS = ["dataset", "noise", "train_ratio", "n_points", "seed", "initializer", "sigma_b2", "learning_rate",
  "batch_size", "optimizer", "l1", "l2"];
function specToText(s) {
  const p = s.params && Object.keys(s.params).length
    ? "(" + Object.entries(s.params).map(([k, v]) => `${k}=${v}`).join(";") + ")" : "";
  return s.activation + p;
}
function textToSpec(t) {
  const m = /^([a-z0-9_]+)(?:\((.*)\))?$/.exec(t);
  if (!m) return { activation: t };
  const out = { activation: m[1] };
  if (m[2]) {
    out.params = {};
    for (const kv of m[2].split(";")) {
      const [k, v] = kv.split("=");
      out.params[k] = v === "true" ? true : v === "false" ? false : Number(v);
    }
  }
  return out;
}
function writeHash(cfg) {
  const parts = [];
  for (const k of SCALARS) {
    if (k === "dataset" && cfg[k] === "upload") continue;   // uploaded points stay out of the URL
    if (k === "sigma_b2" && cfg.initializer !== "critical") continue;
    parts.push(`${k}=${encodeURIComponent(cfg[k])}`);
  }
  parts.push("features=" + cfg.features.join(","));
  parts.push("layers=" + encodeURIComponent(cfg.layers.map((l) => `${l.units}:${specToText(l)}`).join(",")));
  if (cfg.compare) parts.push("compare=" + encodeURIComponent(specToText(cfg.compare)));
  history.replaceState(null, "", "#" + parts.join("&"));
}
function parseHash() {
  const out = {};
  const h = location.hash.replace(/^#/, "");
  if (!h) return out;
  for (const part of h.split("&")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    const k = part.slice(0, i), v = decodeURIComponent(part.slice(i + 1));
    if (SCALARS.includes(k)) {
      const num = Number(v);
      out[k] = v !== "" && !Number.isNaN(num) && !["dataset", "initializer", "optimizer"].includes(k) ? num : v;
    } else if (k === "features") out.features = v ? v.split(",") : [];
    else if (k === "layers") {
      out.layers = v ? v.split(",").map((t) => {
        const j = t.indexOf(":");
        return { units: Number(t.slice(0, j)), ...textToSpec(t.slice(j + 1)) };
      }) : [];
    } else if (k === "compare") out.compare = v ? textToSpec(v) : null;
  }
  return out;
}

// ---------------------------------------------------------------- network message
function onNetwork(n) {
  S.net = n;
  S.networkCount++;
  S.config = n.config;
  S.history = [[], []];
  S.deadSince = [{}, {}];
  S.frame = null;
  syncControls();
  buildNetwork();
  writeHash(n.config);
  $("fig-b").hidden = !n.compare;
  $("compare-panel").hidden = !n.compare;
  document.querySelector(".boundaries").classList.toggle("two", !!n.compare);
  const acts = n.layers.map((l) => l.activation);
  $("cap-a").textContent = n.compare ? `A: ${acts.join(", ") || "linear model"}` : "";
  $("cap-b").textContent = n.compare ? `B: ${n.compare.activation} everywhere ` + (n.config.initializer === "critical"
    ? "(the same draws, at its own edge of chaos)" : "(same initial weights)") : "";
  $("acc-row").hidden = n.kind === "regression";
}

function setSelect(sel, value) {
  const v = String(value);
  if (![...sel.options].some((o) => o.value === v)) sel.append(el("option", { value: v, text: v }));
  sel.value = v;
}

function syncControls() {
  const c = S.config;
  setSelect($("learning_rate"), c.learning_rate);
  setSelect($("batch_size"), c.batch_size);
  setSelect($("l1"), c.l1);
  setSelect($("l2"), c.l2);
  setSelect($("optimizer"), c.optimizer);
  setSelect($("initializer"), c.initializer);
  setSelect($("sigma_b2"), c.sigma_b2);
  $("sigma_b2_ctl").hidden = c.initializer !== "critical";
  const acts = new Set(c.layers.map((l) => l.activation));
  $("global_activation").value = acts.size === 1 ? [...acts][0] : "";
  $("compare").value = c.compare ? c.compare.activation : "";
  $("train_ratio").value = Math.round(c.train_ratio * 100);
  $("train_ratio_v").textContent = Math.round(c.train_ratio * 100) + "%";
  $("noise").value = Math.round(c.noise * 100);
  $("noise_v").textContent = Math.round(c.noise * 100);
  $("n_points").value = c.n_points;
  $("n_points_v").textContent = c.n_points;
  $("seed").value = c.seed;
  $("n-layers").textContent = c.layers.length;
  for (const b of $("datasets").querySelectorAll("button")) {
    b.classList.toggle("selected", b.dataset.dataset === c.dataset);
  }
}

function layersCopy() { return S.config.layers.map((l) => JSON.parse(JSON.stringify(l))); }

function heatCanvas(res) {
  const c = el("canvas", { width: res, height: res });
  return c;
}

function buildNetwork() {
  const n = S.net, cfg = S.config;
  const cols = $("columns");
  cols.innerHTML = "";
  cols.style.gap = Math.max(14, 44 - 4 * n.layers.length) + "px";
  S.nodes = { inputs: [], layers: [], output: [] };
  // inputs: every feature, the active ones fed in
  const inCol = el("div", { class: "column inputs" }, el("div", { class: "feature-spacer" }));
  for (const [name, label] of Object.entries(S.hello.features)) {
    const on = cfg.features.includes(name);
    const c = heatCanvas(n.neuron_res);
    drawFeature(c, name, n.neuron_res);
    const box = el("div", { class: "neuron" }, c);
    const f = el("div", { class: "feature" + (on ? "" : " off"), "data-feature": name, title: on ? "click to remove" : "click to add",
      onclick: () => toggleFeature(name) }, box, el("div", { text: label }));
    inCol.append(f);
    if (on) S.nodes.inputs.push(box);
  }
  cols.append(inCol);
  // hidden layers
  n.layers.forEach((layer, li) => {
    const col = el("div", { class: "column hidden", "data-layer": li });
    col.append(layerHead(layer, li));
    const boxes = [];
    for (let u = 0; u < layer.units; u++) {
      const c = heatCanvas(n.neuron_res);
      const box = el("div", { class: "neuron", "data-layer": li, "data-unit": u }, c);
      col.append(box);
      boxes.push(box);
    }
    S.nodes.layers.push(boxes);
    cols.append(col);
  });
  // output
  const outCol = el("div", { class: "column output" });
  const head = el("div", { class: "layer-head" }, el("h2", { text: "Output" }),
    el("div", { class: "pm", text: n.kind === "binary" ? "sigmoid" : n.kind === "multiclass" ? "softmax" : "linear" }),
    el("div", { class: "gradbar", "data-layer": n.layers.length, title: "gradient norm of the output layer" },
      el("div", { class: "fill" }), el("span", { class: "txt" })));
  outCol.append(head);
  const nOut = n.kind === "multiclass" ? n.num_classes : 1;
  for (let k = 0; k < nOut; k++) {
    const c = heatCanvas(n.neuron_res);
    const box = el("div", { class: "neuron", "data-output": k }, c);
    outCol.append(box);
    S.nodes.output.push(box);
  }
  cols.append(outCol);
  requestAnimationFrame(drawLinks);
  buildGradCompare();
  buildNetworkB();
}

// Network B of the side-by-side mode: the same shapes, read-only, smaller; its own neuron
// heatmaps, links and dead units (its controls are A's: only the activation differs).
function buildNetworkB() {
  const n = S.net, cols = $("columns-b");
  cols.innerHTML = "";
  S.nodesB = null;
  if (!n.compare) return;
  const nodes = { inputs: [], layers: [], output: [] };
  const column = (label, cls) => {
    const col = el("div", { class: "column " + cls }, el("div", { class: "col-label", text: label }));
    cols.append(col);
    return col;
  };
  const inCol = column("in", "inputs");
  for (const name of S.config.features) {
    const c = heatCanvas(n.neuron_res);
    drawFeature(c, name, n.neuron_res);
    const box = el("div", { class: "neuron", title: S.hello.features[name] }, c);
    inCol.append(box);
    nodes.inputs.push(box);
  }
  n.layers.forEach((layer, li) => {
    const col = column(n.compare.activation, "hidden");
    col.dataset.layer = li;
    const boxes = [];
    for (let u = 0; u < layer.units; u++) {
      const box = el("div", { class: "neuron", "data-layer": li, "data-unit": u }, heatCanvas(n.neuron_res));
      col.append(box);
      boxes.push(box);
    }
    nodes.layers.push(boxes);
  });
  const outCol = column("out", "output");
  const nOut = n.kind === "multiclass" ? n.num_classes : 1;
  for (let k = 0; k < nOut; k++) {
    const box = el("div", { class: "neuron", "data-output": k }, heatCanvas(n.neuron_res));
    outCol.append(box);
    nodes.output.push(box);
  }
  S.nodesB = nodes;
}

function layerHead(layer, li) {
  const info = S.hello.activations.find((a) => a.name === layer.activation);
  const sel = el("select", { class: "act", "data-layer": li, title: info ? info.formula : "" });
  fillSelect(sel, S.hello.activations.map((a) => a.name));
  sel.value = layer.activation;
  sel.addEventListener("change", () => {
    const ls = layersCopy();
    ls[li] = { units: ls[li].units, activation: sel.value };
    sendConfig({ layers: ls });
  });
  const params = el("div", { class: "params" });
  for (const [k, def] of Object.entries(info ? info.params : {})) {
    const cur = layer.params && k in layer.params ? layer.params[k] : def;
    let input;
    if (typeof def === "boolean") {
      input = el("input", { type: "checkbox", "data-param": k });
      input.checked = !!cur;
    } else {
      input = el("input", { type: "number", step: k === "k" ? "1" : "0.01", value: String(+Number(cur).toFixed(4)), "data-param": k });
    }
    input.addEventListener("change", () => {
      const ls = layersCopy();
      const p = { ...(ls[li].params || {}) };
      p[k] = typeof def === "boolean" ? input.checked : Number(input.value);
      ls[li].params = p;
      sendConfig({ layers: ls });
    });
    params.append(el("label", { text: k }, input));
  }
  const curve = el("canvas", { class: "curve", width: 100, height: 46, "data-layer": li,
    title: "the activation (blue) and its derivative (red, dashed) on [-5, 5]" });
  drawCurve(curve, layer.curve);
  return el("div", { class: "layer-head" },
    el("div", { class: "pm" },
      el("button", { title: "add a neuron", onclick: () => changeUnits(li, +1), text: "+" }),
      el("button", { title: "remove a neuron", onclick: () => changeUnits(li, -1), text: "\u2212" }),
      el("span", { text: `${layer.units} neuron${layer.units > 1 ? "s" : ""}` })),
    sel, params, curve,
    el("div", { class: "gradbar", "data-layer": li, title: "\u2016\u2202L/\u2202W\u2016 of this layer on the training set" },
      el("div", { class: "fill" }), el("span", { class: "txt" })),
    el("div", { class: "deadcount", "data-layer": li }));
}

function changeUnits(li, d) {
  const ls = layersCopy();
  const u = ls[li].units + d;
  if (u < 1) { showError("a layer needs at least one neuron: remove the layer instead"); return; }
  if (u > S.hello.limits.max_neurons) { showError(`at most ${S.hello.limits.max_neurons} neurons per layer`); return; }
  ls[li].units = u;
  sendConfig({ layers: ls });
}

function toggleFeature(name) {
  const f = new Set(S.config.features);
  if (f.has(name)) f.delete(name); else f.add(name);
  if (!f.size) { showError("keep at least one input feature"); return; }
  sendConfig({ features: [...f] });
}

function drawFeature(c, name, res) {
  const g = c.getContext("2d");
  const img = g.createImageData(res, res);
  const fn = FEATURE_FN[name];
  const vals = [];
  let m = 0;
  for (let r = 0; r < res; r++) for (let q = 0; q < res; q++) {
    const x = -6 + 12 * (q + 0.5) / res, y = 6 - 12 * (r + 0.5) / res;
    const v = fn(x, y); vals.push(v); m = Math.max(m, Math.abs(v));
  }
  vals.forEach((v, i) => putColour(img.data, i, colourScale(v / (m || 1))));
  g.putImageData(img, 0, 0);
}

function drawCurve(c, curve) {
  const g = c.getContext("2d");
  const W = c.width, H = c.height;
  g.clearRect(0, 0, W, H);
  const ys = curve.y.concat(curve.dy);
  let lo = Math.max(-3, Math.min(...ys, 0)), hi = Math.min(5, Math.max(...ys, 1));
  if (hi - lo < 1e-6) hi = lo + 1;
  const X = (i) => (i / (curve.y.length - 1)) * W;
  const Y = (v) => H - 2 - ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (H - 4);
  g.strokeStyle = "#ccc"; g.lineWidth = 1;
  g.beginPath(); g.moveTo(0, Y(0)); g.lineTo(W, Y(0)); g.moveTo(W / 2, 0); g.lineTo(W / 2, H); g.stroke();
  const line = (arr, colour, dash) => {
    g.strokeStyle = colour; g.setLineDash(dash); g.lineWidth = 1.6; g.beginPath();
    arr.forEach((v, i) => (i ? g.lineTo(X(i), Y(v)) : g.moveTo(X(i), Y(v))));
    g.stroke(); g.setLineDash([]);
  };
  line(curve.y, rgb(POS), []);
  line(curve.dy, "#d62728", [3, 2]);
}

// ---------------------------------------------------------------- colours and heatmaps
function rgb(c) { return `rgb(${c[0] | 0},${c[1] | 0},${c[2] | 0})`; }
function mix(a, b, t) { return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]; }
function colourScale(v) { // v in [-1, 1]: orange - white - blue
  v = Math.max(-1, Math.min(1, v));
  return v >= 0 ? mix(WHITE, POS, v) : mix(WHITE, NEG, -v);
}
function labelColour(label, kind) {
  if (kind === "regression") return colourScale(label);
  if (kind === "binary") return label >= 0.5 ? POS : NEG;
  return PALETTE[label % PALETTE.length];
}
function putColour(data, i, c) { data[4 * i] = c[0]; data[4 * i + 1] = c[1]; data[4 * i + 2] = c[2]; data[4 * i + 3] = 255; }
function decode(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
const toSigned = (byte) => byte / 127.5 - 1;

function drawHeat(canvas, b64, res, discretize, classColour) {
  // classColour: a class probability (0..1) drawn from white to that colour (softmax outputs)
  const g = canvas.getContext("2d");
  const img = g.createImageData(res, res);
  const bytes = decode(b64);
  for (let i = 0; i < res * res; i++) {
    if (classColour) { putColour(img.data, i, mix(WHITE, classColour, bytes[i] / 255)); continue; }
    let v = toSigned(bytes[i]);
    if (discretize) v = v > 0 ? 1 : -1;
    putColour(img.data, i, colourScale(v));
  }
  g.putImageData(img, 0, 0);
}

const offscreen = document.createElement("canvas");
function drawBoundary(canvas, model) {
  const n = S.net, res = n.boundary_res, g = canvas.getContext("2d");
  offscreen.width = res; offscreen.height = res;
  const og = offscreen.getContext("2d");
  const img = og.createImageData(res, res);
  const bytes = decode(model.boundary);
  const disc = $("discretize").checked;
  for (let i = 0; i < res * res; i++) {
    let c;
    if (n.kind === "multiclass") {
      let best = 0, bp = -1;
      for (let k = 0; k < n.num_classes; k++) {
        const p = bytes[k * res * res + i] / 255;
        if (p > bp) { bp = p; best = k; }
      }
      const conf = disc ? 0.75 : Math.max(0, (bp - 1 / n.num_classes) / (1 - 1 / n.num_classes)) * 0.8;
      c = mix(WHITE, PALETTE[best], conf);
    } else {
      let v = toSigned(bytes[i]);
      if (disc) v = v > 0 ? 1 : -1;
      c = colourScale(v * 0.8);
    }
    putColour(img.data, i, c);
  }
  og.putImageData(img, 0, 0);
  g.imageSmoothingEnabled = !disc;
  g.clearRect(0, 0, canvas.width, canvas.height);
  g.drawImage(offscreen, 0, 0, canvas.width, canvas.height);
  // the points: training points with a white ring, test points with a black one
  const P = n.points, W = canvas.width, H = canvas.height;
  const showTest = $("show-test").checked;
  const drawSet = (idx, stroke) => {
    for (const i of idx) {
      const [x, y] = P.x[i];
      g.beginPath();
      g.arc((x + 6) / 12 * W, (6 - y) / 12 * H, 3, 0, 2 * Math.PI);
      g.fillStyle = rgb(labelColour(P.label[i], n.kind));
      g.fill(); g.strokeStyle = stroke; g.lineWidth = 1; g.stroke();
    }
  };
  drawSet(P.train, "#fff");
  if (showTest) drawSet(P.test, "#000");
}

// ---------------------------------------------------------------- frames
function onFrame(f) {
  if (!S.net) return;
  S.frame = f;
  S.frameCount++;
  S.framesThisSecond++;
  S.playing = f.playing;
  const play = $("play");
  play.classList.toggle("running", f.playing);
  play.innerHTML = f.playing ? "&#10074;&#10074;" : "&#x25B6;";
  $("epoch").textContent = String(f.epoch).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  $("stepcount").textContent = f.step;
  f.models.forEach((m, k) => {
    const h = S.history[k];
    if (!h.length || h[h.length - 1].step !== f.step) h.push({ step: f.step, train: m.loss.train, test: m.loss.test });
    if (h.length > 600) h.splice(0, h.length - 600);
  });
  const a = f.models[0];
  showMetrics(a, "");
  drawBoundary($("boundary"), a);
  drawNeurons(a, S.nodes);
  drawGradBars(a);
  markDead(a, f.step, S.nodes, 0);
  if (f.models.length > 1 && S.nodesB) {
    const b = f.models[1];
    showMetrics(b, "-b");
    drawBoundary($("boundary-b"), b);
    drawNeurons(b, S.nodesB);
    markDead(b, f.step, S.nodesB, 1);
    drawGradCompare(f);
  }
  drawLinks();
  drawLossPlot();
  const div = f.models.map((m) => m.diverged).filter(Boolean);
  if (div.length) showError(div.join("; "));
}

const fmt = (v) => (v === null || v === undefined ? "diverged" : v.toFixed(3));
function showMetrics(m, suffix) {
  $("test-loss" + suffix).textContent = fmt(m.loss.test);
  $("train-loss" + suffix).textContent = fmt(m.loss.train);
  if (m.accuracy) {
    $("test-acc" + suffix).textContent = (100 * m.accuracy.test).toFixed(1) + "%";
    const tr = $("train-acc" + suffix);
    if (tr) tr.textContent = (100 * m.accuracy.train).toFixed(1) + "%";
  }
}

function drawNeurons(m, nodes) {
  const res = S.net.neuron_res;
  m.neurons.forEach((layer, li) => {
    const isOut = li >= nodes.layers.length;
    const boxes = isOut ? nodes.output : nodes.layers[li];
    const multi = isOut && S.net.kind === "multiclass";
    layer.forEach((b64, u) => {
      if (boxes[u]) drawHeat(boxes[u].firstChild, b64, res, false, multi ? PALETTE[u % PALETTE.length] : null);
    });
  });
}

function centres(box, side, host) {
  const r = box.getBoundingClientRect();
  return [(side === "out" ? r.right : r.left) - host.left, r.top + r.height / 2 - host.top];
}

function drawLinks() {
  drawLinksOf($("links"), $("network"), S.nodes, 0, 1);
  if (S.nodesB) drawLinksOf($("links-b"), $("network-b"), S.nodesB, 1, 0.6);
}

function drawLinksOf(canvas, hostEl, nodes, k, widthScale) {
  const w = hostEl.scrollWidth, h = hostEl.scrollHeight;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, w, h);
  if (!nodes || !S.frame || !S.frame.models[k]) return;
  const host = hostEl.getBoundingClientRect();
  const cols = [nodes.inputs, ...nodes.layers, nodes.output];
  const W = S.frame.models[k].weights;
  for (let l = 0; l + 1 < cols.length; l++) {
    const kernel = W[l];
    if (!kernel) continue;
    cols[l].forEach((src, i) => {
      const [x0, y0] = centres(src, "out", host);
      cols[l + 1].forEach((dst, j) => {
        const w = kernel[i] ? kernel[i][j] : 0;
        const [x1, y1] = centres(dst, "in", host);
        g.strokeStyle = rgb(w >= 0 ? POS : NEG);
        g.globalAlpha = 0.25 + 0.6 * Math.min(1, Math.abs(w));
        g.lineWidth = widthScale * Math.min(6, 0.4 + 1.6 * Math.abs(w));
        g.beginPath(); g.moveTo(x0, y0);
        g.bezierCurveTo((x0 + x1) / 2, y0, (x0 + x1) / 2, y1, x1, y1);
        g.stroke();
      });
    });
  }
  g.globalAlpha = 1;
}

function setBar(bar, norm) {
  const fill = bar.querySelector(".fill"), txt = bar.querySelector(".txt");
  if (norm === null || norm === undefined) {
    fill.style.width = "0"; txt.textContent = "\u2014"; bar.dataset.norm = ""; return;
  }
  const frac = Math.max(0, Math.min(1, (Math.log10(Math.max(norm, 1e-12)) + 8) / 9));
  fill.style.width = (100 * frac).toFixed(1) + "%";
  fill.style.background = norm < 1e-4 ? "var(--bad)" : norm < 1e-2 ? "var(--warn)" : "var(--ok)";
  txt.textContent = norm === 0 ? "\u2207 0 (no gradient)" : "\u2207 " + norm.toExponential(1);
  bar.dataset.norm = String(norm);
}

function drawGradBars(m) {
  for (const bar of document.querySelectorAll("#columns .gradbar")) {
    setBar(bar, m.grad_norms[Number(bar.dataset.layer)]);
  }
}

function markDead(m, step, nodes, k) {
  const since = S.deadSince[k];
  m.dead.forEach((units, li) => {
    let count = 0;
    units.forEach((dead, u) => {
      const box = nodes.layers[li] && nodes.layers[li][u];
      if (!box) return;
      const key = `${li}:${u}`;
      if (dead) {
        count++;
        if (!(key in since)) since[key] = step;
        box.title = `dead since step ${since[key]}: f'(z) = 0 on every training point`;
      } else {
        delete since[key];
        box.title = "";
      }
      box.classList.toggle("dead", dead);
    });
    if (k !== 0) return;      // network B's counts are in the side-by-side table
    const label = document.querySelector(`#columns .deadcount[data-layer="${li}"]`);
    if (label) {
      label.textContent = count ? `dead ${count}/${units.length}` : "";
      label.classList.toggle("some", count > 0);
    }
  });
}

function buildGradCompare() {
  const box = $("grad-compare");
  box.innerHTML = "";
  if (!S.net.compare) return;
  box.append(el("div", { class: "hint", text: "gradient norm per layer, A (top) and B (bottom); dead units" }));
  const n = S.net.layers.length + 1;
  for (let l = 0; l < n; l++) {
    const name = l < S.net.layers.length ? `layer ${l + 1}` : "output";
    for (const k of [0, 1]) {
      box.append(el("div", { class: "gc-row" },
        el("span", { class: "l", text: k === 0 ? name : "" }),
        el("span", { text: k === 0 ? "A" : "B" }),
        el("div", { class: "gradbar", "data-model": k, "data-layer": l }, el("div", { class: "fill" }), el("span", { class: "txt" })),
        el("span", { class: "deadcount", "data-model": k, "data-layer": l })));
    }
  }
}

function drawGradCompare(f) {
  for (const bar of document.querySelectorAll("#grad-compare .gradbar")) {
    const m = f.models[Number(bar.dataset.model)];
    setBar(bar, m.grad_norms[Number(bar.dataset.layer)]);
  }
  for (const lab of document.querySelectorAll("#grad-compare .deadcount")) {
    const m = f.models[Number(lab.dataset.model)];
    const units = m.dead[Number(lab.dataset.layer)];
    const c = units ? units.filter(Boolean).length : 0;
    lab.textContent = units && c ? `dead ${c}/${units.length}` : "";
    lab.classList.toggle("some", c > 0);
  }
}

function drawLossPlot() {
  const c = $("lossplot"), g = c.getContext("2d"), W = c.width, H = c.height;
  g.clearRect(0, 0, W, H);
  const all = S.history.flat().flatMap((p) => [p.train, p.test]).filter((v) => v !== null && v !== undefined);
  if (!all.length) return;
  const hi = Math.max(...all) * 1.05 || 1;
  const maxStep = Math.max(1, ...S.history.flat().map((p) => p.step));
  const line = (h, key, colour, dash) => {
    g.strokeStyle = colour; g.setLineDash(dash); g.lineWidth = 1.5; g.beginPath();
    let started = false;
    for (const p of h) {
      if (p[key] === null || p[key] === undefined) continue;
      const x = (p.step / maxStep) * (W - 2) + 1, y = H - 2 - (p[key] / hi) * (H - 4);
      if (started) g.lineTo(x, y); else { g.moveTo(x, y); started = true; }
    }
    g.stroke(); g.setLineDash([]);
  };
  S.history.forEach((h, k) => {
    const dash = k ? [4, 3] : [];
    line(h, "train", "#999", dash);
    line(h, "test", "#222", dash);
  });
}

// ---------------------------------------------------------------- export
function onExport(msg) {
  S.lastExport = msg;
  download(msg.script_name, new Blob([msg.script], { type: "text/x-python" }));
  download(msg.weights_name, new Blob([decode(msg.weights)], { type: "application/octet-stream" }));
  $("share-msg").textContent = `exported ${msg.script_name} and ${msg.weights_name}`;
}
function download(name, blob) {
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 5000);
}

// ---------------------------------------------------------------- controls
function wire() {
  $("play").addEventListener("click", () => send({ type: S.playing ? "pause" : "play" }));
  $("step").addEventListener("click", () => {
    const n = S.net ? Math.ceil(S.net.points.train.length / S.config.batch_size) : 1;
    send({ type: "step", n: Math.max(1, Math.min(n, S.hello.limits.max_step)) });
  });
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("learning_rate").addEventListener("change", (e) => sendConfig({ learning_rate: Number(e.target.value) }));
  $("batch_size").addEventListener("change", (e) => sendConfig({ batch_size: Number(e.target.value) }));
  $("l1").addEventListener("change", (e) => sendConfig({ l1: Number(e.target.value) }));
  $("l2").addEventListener("change", (e) => sendConfig({ l2: Number(e.target.value) }));
  $("optimizer").addEventListener("change", (e) => sendConfig({ optimizer: e.target.value }));
  $("initializer").addEventListener("change", (e) => sendConfig({ initializer: e.target.value }));
  $("sigma_b2").addEventListener("change", (e) => sendConfig({ sigma_b2: Number(e.target.value) }));
  $("global_activation").addEventListener("change", (e) => {
    if (!e.target.value) return;
    sendConfig({ layers: S.config.layers.map((l) => ({ units: l.units, activation: e.target.value })) });
  });
  $("compare").addEventListener("change", (e) => sendConfig({ compare: e.target.value ? { activation: e.target.value } : null }));
  $("train_ratio").addEventListener("change", (e) => sendConfig({ train_ratio: Number(e.target.value) / 100 }));
  $("noise").addEventListener("change", (e) => sendConfig({ noise: Number(e.target.value) / 100 }));
  $("n_points").addEventListener("change", (e) => sendConfig({ n_points: Number(e.target.value) }));
  for (const id of ["train_ratio", "noise", "n_points"]) {
    $(id).addEventListener("input", (e) => {
      const v = Number(e.target.value);
      $(id + "_v").textContent = id === "train_ratio" ? v + "%" : String(v);
    });
  }
  $("seed").addEventListener("change", (e) => sendConfig({ seed: Number(e.target.value) }));
  $("regenerate").addEventListener("click", () => sendConfig({ seed: (S.config.seed + 1) % 2147483647 }));
  $("add-layer").addEventListener("click", () => {
    const ls = layersCopy();
    if (ls.length >= S.hello.limits.max_layers) { showError(`at most ${S.hello.limits.max_layers} hidden layers`); return; }
    const last = ls.length ? ls[ls.length - 1] : { units: 4, activation: "tanh" };
    ls.push({ units: last.units, activation: last.activation, ...(last.params ? { params: last.params } : {}) });
    sendConfig({ layers: ls });
  });
  $("remove-layer").addEventListener("click", () => {
    const ls = layersCopy();
    if (!ls.length) { showError("no hidden layer left: this is a linear model"); return; }
    ls.pop();
    sendConfig({ layers: ls });
  });
  $("csv").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    if (file.size > S.hello.limits.max_csv_bytes) {
      showError(`bad CSV file: ${file.name} is ${file.size} bytes; the limit is ${S.hello.limits.max_csv_bytes} bytes`);
      e.target.value = "";
      return;
    }
    send({ type: "upload", csv: await file.text() });
    e.target.value = "";
  });
  $("show-test").addEventListener("change", redraw);
  $("discretize").addEventListener("change", redraw);
  $("copy-link").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); $("share-msg").textContent = "link copied"; }
    catch (err) { $("share-msg").textContent = location.href; }
  });
  $("export").addEventListener("click", () => send({ type: "export" }));
  window.addEventListener("resize", () => requestAnimationFrame(drawLinks));
  setInterval(() => { S.fps = S.framesThisSecond; S.framesThisSecond = 0; $("fps").textContent = S.fps; }, 1000);
}

function redraw() {
  if (!S.frame) return;
  drawBoundary($("boundary"), S.frame.models[0]);
  if (S.frame.models[1]) drawBoundary($("boundary-b"), S.frame.models[1]);
}

wire();
connect();
