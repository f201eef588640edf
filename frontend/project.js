// The project page: the filters apply as soon as they change, and "Next image for me" asks the API for the
// caller's next image (and assigns it).

import { createApi } from "./transport.js";

const button = document.getElementById("next-for-me");
const note = document.getElementById("next-note");
const filters = document.getElementById("image-filters");
const api = createApi({ csrfToken: "" });

for (const select of filters?.querySelectorAll("select") || []) {
  select.addEventListener("change", () => filters.requestSubmit());
}

button?.addEventListener("click", async () => {
  button.disabled = true;
  try {
    const image = await api.nextImage(Number(button.dataset.projectId));
    if (image && image.id) window.location.assign(`/annotate/${image.id}/`);
    else note.textContent = "Nothing left to annotate for you in this project.";
  } catch (err) {
    note.textContent = `Could not get the next image: ${err.message}`;
  } finally {
    button.disabled = false;
  }
});
