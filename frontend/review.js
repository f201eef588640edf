// The reviewer page: the image with its objects (read-only canvas), accept / reject with a comment.

import { CanvasView } from "./canvas.js";
import { renderObjectList, setStatusBadge } from "./panel.js";
import { createStore, initialState, reducer } from "./state.js";
import { createApi } from "./transport.js";

const $ = (id) => document.getElementById(id);
const cfg = JSON.parse($("annotator-config").textContent);
const root = $("reviewer");
const api = createApi({ csrfToken: cfg.csrf_token });
const store = createStore(reducer, initialState({ image: cfg.image, project: cfg.project, labels: cfg.labels, objectId: "review" }));
const view = new CanvasView($("canvas"), { interactive: false });

function renderObjects(state) {
  renderObjectList(state, { labels: cfg.labels, details: true, onToggle: (id) => store.dispatch({ type: "object/toggle", id }) });
}

store.subscribe((state, action, prev) => {
  view.render(state, null);
  if (prev.objects !== state.objects) renderObjects(state);
  $("opacity").value = String(state.opacity);
});

async function decide(decision) {
  const comment = $("review-comment").value.trim();
  if (decision === "reject" && !comment) {
    $("review-result").textContent = "Please say what should be fixed when rejecting.";
    return;
  }
  try {
    const res = await api.reviewImage(cfg.image.id, decision, comment);
    const status = (res && res.status) || (decision === "accept" ? "accepted" : "rejected");
    setStatusBadge(status);
    $("review-result").textContent = decision === "accept" ? "Accepted." : "Rejected; the annotator will see your comment.";
    root.dataset.decision = decision;
    const next = $("next-review");
    if (next && cfg.next_review_id) next.hidden = false;
  } catch (err) {
    $("review-result").textContent = `Could not save the review: ${err.message}`;
  }
}

async function start() {
  $("accept").addEventListener("click", () => decide("accept"));
  $("reject").addEventListener("click", () => decide("reject"));
  $("opacity").addEventListener("input", (ev) => store.dispatch({ type: "opacity/set", value: Number(ev.target.value) }));
  $("outline-only").addEventListener("change", (ev) => store.dispatch({ type: "outline/set", value: ev.target.checked }));
  $("prev-image").disabled = !cfg.prev_image_id;
  $("next-image").disabled = !cfg.next_image_id;
  $("prev-image").addEventListener("click", () => window.location.assign(`/review/${cfg.prev_image_id}/`));
  $("next-review").addEventListener("click", () => window.location.assign(`/review/${cfg.next_review_id}/`));
  $("next-image").addEventListener("click", () => window.location.assign(`/review/${cfg.next_image_id}/`));
  const canvas = $("canvas");
  canvas.addEventListener("annotator:zoom", (ev) => store.dispatch({ type: "view/zoom", ...ev.detail }));
  canvas.addEventListener("annotator:pan", (ev) => store.dispatch({ type: "view/pan", ...ev.detail }));
  window.addEventListener("resize", () => view.resize());
  try {
    const img = new Image();
    img.src = cfg.image.file_url;
    await img.decode();
    view.setImage(img);
    view.resize();
    store.dispatch({ type: "view/fit", canvasW: view.cssSize.width, canvasH: view.cssSize.height });
    store.dispatch({ type: "objects/loaded", annotations: await api.listAnnotations(cfg.image.id) });
  } catch (err) {
    $("status-error").textContent = `Could not load: ${err.message}`;
  }
  root.dataset.ready = "1";
}

start();
