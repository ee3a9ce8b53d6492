// The page of `matting serve`: open a photo, paint a trimap, run a model, look, download.
//
// The trimap is a label map (one byte per preview pixel: 0 background, 128 unknown,
// 255 foreground) painted with pointer events; it is drawn as a coloured overlay and sent
// to the server as a gray PNG of exactly those three values. A large photo is painted on a
// preview (its longest side at most the server's preview size); the server scales the
// trimap up to the photo and returns full-size results.
"use strict";

const $ = (id) => document.getElementById(id);
const FG = 255, BG = 0, UNKNOWN = 128;
const OVERLAY = { [FG]: [46, 204, 64, 255], [BG]: [255, 65, 54, 255], [UNKNOWN]: [0, 0, 0, 0] };
const UNDO_DEPTH = 30;
const POLL_MS = 200;

const state = {
  photo: null,      // {id, name, width, height, preview: {width, height, url}}
  labels: null,     // Uint8Array, preview width x height
  width: 0, height: 0,
  undo: [],
  stroke: null,     // {last: {x, y}} while painting
  models: [],
  result: null,     // the finished job shown
  busy: false,
};

const photoCanvas = $("photo-canvas");
const trimapCanvas = $("trimap-canvas");
const trimapContext = trimapCanvas.getContext("2d");
let overlayPixels = null;  // ImageData of the overlay

// -- server ----------------------------------------------------------------------------------

async function api(path, options) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).detail || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function setStatus(text, error = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", error);
}

function showProgress(job) {
  const box = $("progress"), bar = $("progress-bar"), text = $("progress-text");
  if (!job) { box.hidden = true; return; }
  box.hidden = false;
  if (job.progress === null || job.progress === undefined) bar.removeAttribute("value");
  else bar.value = job.progress;
  let line = job.stage;
  if (job.state === "queued") line = `waiting: ${job.queue_position} job(s) ahead`;
  else if (job.progress !== null && job.state === "running") line += ` ${Math.round(job.progress * 100)}%`;
  if (job.elapsed_s !== null) line += ` (${job.elapsed_s.toFixed(1)} s)`;
  text.textContent = line;
}

// Poll a job until it is done; throws with the server's sentence when it failed.
async function follow(job) {
  showProgress(job);
  try {
    for (;;) {
      job = await (await api(`/jobs/${job.id}`)).json();
      showProgress(job);
      if (job.state === "done") return job;
      if (job.state === "failed") throw new Error(job.error);
      await sleep(POLL_MS);
    }
  } finally {
    showProgress(null);
  }
}

async function busy(label, task) {
  if (state.busy) return;
  state.busy = true;
  updateButtons();
  setStatus(label);
  try {
    await task();
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    state.busy = false;
    updateButtons();
  }
}

// -- models ----------------------------------------------------------------------------------

async function loadModels() {
  const data = await (await api("/models")).json();
  state.models = data.models;
  const select = $("model");
  select.innerHTML = "";
  for (const model of data.models) {
    const option = new Option(modelLabel(model), model.name, model.default, model.default);
    option.title = [model.paper, model.description].filter(Boolean).join(" — ");
    select.add(option);
  }
  const free = data.models.filter((m) => !m.needs_trimap);
  $("auto-model").hidden = free.length === 0;
  const auto = $("auto-model-name");
  auto.innerHTML = "";
  for (const model of free) auto.add(new Option(model.name, model.name));
}

function modelLabel(model) {
  const notes = [];
  if (!model.needs_trimap) notes.push("no trimap needed");
  if (model.weights && model.weights !== "bundled") notes.push(model.weights);
  if (!model.weights) notes.push("no bundled weights");
  return notes.length ? `${model.name} (${notes.join(", ")})` : model.name;
}

const selectedModel = () => state.models.find((m) => m.name === $("model").value);

// -- the photo -------------------------------------------------------------------------------

async function openPhoto(file) {
  await busy(`Uploading ${file.name} …`, async () => {
    const form = new FormData();
    form.append("image", file, file.name);
    const photo = await (await api("/images", { method: "POST", body: form })).json();
    const preview = await loadImage(photo.preview.url);
    state.photo = photo;
    state.width = photo.preview.width;
    state.height = photo.preview.height;
    for (const canvas of [photoCanvas, trimapCanvas]) {
      canvas.width = state.width;
      canvas.height = state.height;
    }
    photoCanvas.getContext("2d").drawImage(preview, 0, 0);
    overlayPixels = trimapContext.createImageData(state.width, state.height);
    state.labels = new Uint8Array(state.width * state.height).fill(UNKNOWN);
    state.undo = [];
    render(0, 0, state.width, state.height);
    showResult(null);
    $("drop-hint").hidden = true;
    const scaled = photo.preview.width !== photo.width;
    setStatus(
      `${photo.name}: ${photo.width}×${photo.height}` +
      (scaled ? ` — painting on a ${state.width}×${state.height} preview; results are full size` : "") +
      ". Paint foreground and background, then Run."
    );
  });
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`could not load ${url}`));
    image.src = url;
  });
}

// -- painting --------------------------------------------------------------------------------

const brushValue = () => Number(document.querySelector("input[name=brush]:checked").value);
const brushSize = () => Number($("brush-size").value);

function render(x0, y0, x1, y1) {
  const gray = $("gray-view").checked;
  const data = overlayPixels.data, labels = state.labels, width = state.width;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * width + x, label = labels[i];
      const colour = gray ? [label, label, label, 255] : OVERLAY[label];
      data.set(colour, i * 4);
    }
  }
  trimapContext.putImageData(overlayPixels, 0, 0, x0, y0, x1 - x0, y1 - y0);
}

const renderAll = () => state.labels && render(0, 0, state.width, state.height);

// Set every pixel of a disc to the brush's label; returns the touched rectangle.
function stamp(cx, cy, radius, value, box) {
  const x0 = Math.max(0, Math.floor(cx - radius)), x1 = Math.min(state.width, Math.ceil(cx + radius) + 1);
  const y0 = Math.max(0, Math.floor(cy - radius)), y1 = Math.min(state.height, Math.ceil(cy + radius) + 1);
  const r2 = radius * radius;
  for (let y = y0; y < y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x < x1; x++) {
      const dx = x + 0.5 - cx;
      if (dx * dx + dy * dy <= r2) state.labels[y * state.width + x] = value;
    }
  }
  box.x0 = Math.min(box.x0, x0); box.y0 = Math.min(box.y0, y0);
  box.x1 = Math.max(box.x1, x1); box.y1 = Math.max(box.y1, y1);
}

function paintTo(point) {
  const radius = brushSize() / 2, value = brushValue();
  const box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  const last = state.stroke.last;
  const distance = Math.hypot(point.x - last.x, point.y - last.y);
  const steps = Math.max(1, Math.ceil(distance / Math.max(1, radius / 3)));
  for (let s = 1; s <= steps; s++) {
    const t = s / steps;
    stamp(last.x + (point.x - last.x) * t, last.y + (point.y - last.y) * t, radius, value, box);
  }
  state.stroke.last = point;
  if (box.x1 > box.x0 && box.y1 > box.y0) render(box.x0, box.y0, box.x1, box.y1);
}

function canvasPoint(event) {
  const rect = trimapCanvas.getBoundingClientRect();
  return {
    x: (event.clientX - rect.left) * (state.width / rect.width),
    y: (event.clientY - rect.top) * (state.height / rect.height),
  };
}

function pushUndo() {
  state.undo.push(state.labels.slice());
  if (state.undo.length > UNDO_DEPTH) state.undo.shift();
  updateButtons();
}

function undo() {
  if (!state.undo.length) return;
  state.labels = state.undo.pop();
  renderAll();
  updateButtons();
}

function moveCursor(event) {
  const cursor = $("cursor");
  if (!state.labels) { cursor.hidden = true; return; }
  const rect = trimapCanvas.getBoundingClientRect();
  const diameter = brushSize() * (rect.width / state.width);
  cursor.hidden = false;
  cursor.style.width = cursor.style.height = `${diameter}px`;
  cursor.style.left = `${event.clientX - rect.left}px`;
  cursor.style.top = `${event.clientY - rect.top}px`;
}

trimapCanvas.addEventListener("pointerdown", (event) => {
  if (!state.labels || event.button !== 0) return;
  event.preventDefault();
  trimapCanvas.setPointerCapture(event.pointerId);
  pushUndo();
  const point = canvasPoint(event);
  state.stroke = { last: point };
  paintTo(point);
});
trimapCanvas.addEventListener("pointermove", (event) => {
  moveCursor(event);
  if (!state.stroke) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const each of events.length ? events : [event]) paintTo(canvasPoint(each));
});
for (const type of ["pointerup", "pointercancel"]) {
  trimapCanvas.addEventListener(type, () => { state.stroke = null; });
}
trimapCanvas.addEventListener("pointerleave", () => { $("cursor").hidden = true; });

// The label map as a gray PNG with exactly the values 0, 128 and 255.
function trimapBlob() {
  const canvas = document.createElement("canvas");
  canvas.width = state.width;
  canvas.height = state.height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(state.width, state.height);
  for (let i = 0; i < state.labels.length; i++) {
    const v = state.labels[i];
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

// Replace the label map with a trimap PNG from the server (any size: drawn at the preview's).
async function loadTrimap(blob) {
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement("canvas");
  canvas.width = state.width;
  canvas.height = state.height;
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(bitmap, 0, 0, state.width, state.height);
  const pixels = context.getImageData(0, 0, state.width, state.height).data;
  pushUndo();
  for (let i = 0; i < state.labels.length; i++) {
    const v = pixels[4 * i];
    state.labels[i] = v < 64 ? BG : v > 191 ? FG : UNKNOWN;
  }
  renderAll();
}

// -- running ---------------------------------------------------------------------------------

async function run() {
  const model = selectedModel();
  await busy(`Running ${model.name} …`, async () => {
    const form = new FormData();
    form.append("image_id", state.photo.id);
    form.append("model", model.name);
    if (model.needs_trimap) {
      if (!state.labels.includes(FG) || !state.labels.includes(BG)) {
        throw new Error("Paint some foreground and some background first.");
      }
      form.append("trimap", await trimapBlob(), "trimap.png");
    }
    const job = await follow(await (await api("/jobs", { method: "POST", body: form })).json());
    await showResult(job);
    setStatus(`${model.name}: ${job.width}×${job.height} in ${job.elapsed_s.toFixed(1)} s. Paint more and run again to refine.`);
  });
}

async function showResult(job) {
  state.result = job;
  const alpha = $("alpha-img"), cutout = $("cutout-img");
  for (const [kind, image] of [["alpha", alpha], ["cutout", cutout]]) {
    if (job && job.results[kind]) {
      image.src = job.results[kind];
      await image.decode();
    } else {
      image.removeAttribute("src");
    }
  }
  for (const kind of ["alpha", "cutout", "trimap"]) {
    const link = $(`download-${kind}`);
    const url = job && job.results[kind];
    link.classList.toggle("disabled", !url);
    if (url) {
      link.href = url;
      link.download = `${job.name}-${kind}.png`;
    } else {
      link.removeAttribute("href");
    }
  }
}

async function trimapFromFile(file, source) {
  await busy(`Reading ${file.name} …`, async () => {
    const form = new FormData();
    form.append("source", source);
    form.append("file", file, file.name);
    form.append("image_id", state.photo.id);
    form.append("band", $("band").value);
    await loadTrimap(await (await api("/trimap", { method: "POST", body: form })).blob());
    setStatus(`Trimap from ${file.name}: refine it with the brushes, then Run.`);
  });
}

async function trimapFromModel() {
  const name = $("auto-model-name").value;
  await busy(`Automatic trimap with ${name} …`, async () => {
    const form = new FormData();
    form.append("image_id", state.photo.id);
    form.append("model", name);
    form.append("task", "trimap");
    form.append("band", $("band").value);
    const job = await follow(await (await api("/jobs", { method: "POST", body: form })).json());
    await loadTrimap(await (await api(job.results.trimap)).blob());
    setStatus(`Automatic trimap from ${name}: refine it with the brushes, then Run.`);
  });
}

// -- controls --------------------------------------------------------------------------------

function updateButtons() {
  const ready = Boolean(state.photo) && !state.busy;
  $("run").disabled = !ready || !selectedModel();
  $("undo").disabled = !state.photo || state.undo.length === 0;
  $("clear").disabled = !state.photo;
  $("auto-run").disabled = !ready;
  $("trimap-file").disabled = $("mask-file").disabled = !ready;
}

function setBrushSize(size) {
  const slider = $("brush-size");
  slider.value = Math.max(Number(slider.min), Math.min(Number(slider.max), size));
  $("brush-size-value").textContent = slider.value;
}

function setBackdrop() {
  const stage = $("cutout-stage");
  const mode = document.querySelector("input[name=backdrop]:checked").value;
  stage.classList.toggle("checker", mode === "checker");
  stage.style.backgroundColor = mode === "colour" ? $("backdrop-colour").value : "";
  const file = $("backdrop-file").files[0];
  if (mode === "photo" && file) {
    stage.style.backgroundImage = `url(${URL.createObjectURL(file)})`;
    stage.style.backgroundSize = "cover";
    stage.style.backgroundPosition = "center";
  } else {
    stage.style.backgroundImage = stage.style.backgroundSize = stage.style.backgroundPosition = "";
  }
}

$("photo-file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) openPhoto(file);
  event.target.value = "";
});
$("trimap-file").addEventListener("change", (event) => {
  if (event.target.files[0]) trimapFromFile(event.target.files[0], "trimap");
  event.target.value = "";
});
$("mask-file").addEventListener("change", (event) => {
  if (event.target.files[0]) trimapFromFile(event.target.files[0], "mask");
  event.target.value = "";
});
$("run").addEventListener("click", run);
$("auto-run").addEventListener("click", trimapFromModel);
$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", () => {
  pushUndo();
  state.labels.fill(UNKNOWN);
  renderAll();
});
$("model").addEventListener("change", () => {
  const model = selectedModel();
  updateButtons();
  if (model && !model.needs_trimap) setStatus(`${model.name} needs no trimap: Run mats the photo as it is.`);
});
$("brush-size").addEventListener("input", () => setBrushSize($("brush-size").value));
$("overlay-opacity").addEventListener("input", (event) => {
  trimapCanvas.style.opacity = event.target.value / 100;
});
$("gray-view").addEventListener("change", renderAll);
for (const input of document.querySelectorAll("input[name=backdrop], #backdrop-colour, #backdrop-file")) {
  input.addEventListener("change", setBackdrop);
  input.addEventListener("input", setBackdrop);
}

document.addEventListener("keydown", (event) => {
  if (event.target.matches("input[type=number], input[type=text], select")) return;
  const key = event.key.toLowerCase();
  const brushes = { f: FG, b: BG, u: UNKNOWN };
  if ((event.ctrlKey || event.metaKey) && key === "z") { event.preventDefault(); undo(); return; }
  if (key in brushes) document.querySelector(`input[name=brush][value="${brushes[key]}"]`).checked = true;
  else if (key === "[") setBrushSize(brushSize() - Math.max(2, Math.round(brushSize() / 8)));
  else if (key === "]") setBrushSize(brushSize() + Math.max(2, Math.round(brushSize() / 8)));
});

const dropZone = $("paint-stage");
dropZone.addEventListener("dragover", (event) => { event.preventDefault(); dropZone.classList.add("dragging"); });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  const file = event.dataTransfer.files[0];
  if (file) openPhoto(file);
});

loadModels()
  .then(() => { updateButtons(); setStatus("Open a photo to start."); })
  .catch((error) => setStatus(`Could not list the models: ${error.message}`, true));
