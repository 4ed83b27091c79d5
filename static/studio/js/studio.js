// Progressive enhancements only: every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Selects marked data-autosubmit submit their form on change; their button is
  // only needed without JavaScript.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    const form = select.form;
    const button = form.querySelector("[data-autosubmit-button]");
    if (button) button.hidden = true;
    select.addEventListener("change", () => form.requestSubmit());
  }
});

// The workspace switcher (a <details> menu) closes on a click outside it and on
// Escape, which gives the focus back to it.
document.addEventListener("click", (event) => {
  const open = document.querySelector("details.ws-switch[open]");
  if (open && !open.contains(event.target)) open.open = false;
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const open = event.target.closest?.("details.ws-switch[open]");
  if (!open) return;
  open.open = false;
  open.querySelector("summary")?.focus();
});

// "/" focuses the search bar (unless the user is typing somewhere already).
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest?.("input, textarea, select, [contenteditable]")) return;
  const search = document.querySelector("[data-search]");
  if (!search) return;
  event.preventDefault();
  search.focus();
  search.select();
});

// Destructive actions ask first. A form, or one submit button of it, carries
// data-confirm="What exactly will happen?" (optional data-confirm-yes="Delete",
// data-confirm-no="Keep it"); submitting opens a native <dialog> with that text,
// the safe choice focused, Esc = no. "{count}" in the text is the number of checked
// boxes of the form, and boxes carrying data-confirm-item are listed by name. Without
// this script the form posts as it always did (the server checks everything anyway).
(() => {
  let dialog = null;

  function confirmDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.dataset.confirmDialog = "";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
    const text = document.createElement("p");
    text.id = "confirm-dialog-text";
    text.className = "confirm-text";
    const items = document.createElement("ul");
    items.className = "confirm-items";
    const actions = document.createElement("div");
    actions.className = "form-actions";
    const yes = document.createElement("button");
    yes.type = "button";
    yes.className = "btn btn-danger";
    yes.dataset.confirmAnswer = "yes";
    const no = document.createElement("button");
    no.type = "button";
    no.className = "btn";
    no.dataset.confirmAnswer = "no";
    actions.append(yes, no);
    dialog.append(text, items, actions);
    yes.addEventListener("click", () => dialog.close("yes"));
    no.addEventListener("click", () => dialog.close("no"));
    document.body.append(dialog);
    return dialog;
  }

  const LISTED = 8;

  // Ask with the attributes of `source` (the button or the form); resolves true for yes.
  function ask(source, form) {
    const box = confirmDialog();
    const checked = [...form.elements].filter((el) => el.type === "checkbox" && el.checked);
    box.querySelector(".confirm-text").textContent = source.dataset.confirm.replaceAll(
      "{count}",
      String(checked.length),
    );
    const names = checked.map((el) => el.dataset.confirmItem).filter(Boolean);
    const items = box.querySelector(".confirm-items");
    items.replaceChildren(
      ...names.slice(0, LISTED).map((name) => {
        const li = document.createElement("li");
        li.textContent = name;
        return li;
      }),
    );
    if (names.length > LISTED) {
      const more = document.createElement("li");
      more.className = "muted";
      more.textContent = `and ${names.length - LISTED} more`;
      items.append(more);
    }
    items.hidden = !names.length;
    box.querySelector('[data-confirm-answer="yes"]').textContent = source.dataset.confirmYes || "Yes";
    box.querySelector('[data-confirm-answer="no"]').textContent = source.dataset.confirmNo || "No";
    box.returnValue = "";
    box.showModal();
    box.querySelector('[data-confirm-answer="no"]').focus();
    return new Promise((resolve) => {
      box.addEventListener("close", () => resolve(box.returnValue === "yes"), { once: true });
    });
  }

  const confirmed = new WeakSet();

  // Capturing, so the question comes before any script that sends the form itself.
  document.addEventListener(
    "submit",
    async (event) => {
      const form = event.target;
      const source = event.submitter?.closest("[data-confirm]") || form.closest("form[data-confirm]");
      if (!source || confirmed.has(form)) {
        confirmed.delete(form);
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      const submitter = event.submitter;
      if (!(await ask(source, form))) {
        submitter?.focus();
        return;
      }
      confirmed.add(form);
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
    },
    true,
  );
})();

// Anything that waits: Studio.busy(element, promise) marks the element aria-busy at
// once and shows "Loading…" (is-loading) only once the wait passes 300 ms, so quick
// answers never flash. Returns the promise's result.
window.Studio = window.Studio || {};
(() => {
  const waits = new WeakMap(); // element -> number of waits under way
  window.Studio.busy = async (element, work) => {
    if (!element) return work;
    waits.set(element, (waits.get(element) || 0) + 1);
    element.setAttribute("aria-busy", "true");
    const timer = setTimeout(() => element.classList.add("is-loading"), 300);
    try {
      return await work;
    } finally {
      clearTimeout(timer);
      const left = waits.get(element) - 1;
      waits.set(element, left);
      if (!left) {
        element.removeAttribute("aria-busy");
        element.classList.remove("is-loading");
      }
    }
  };
})();
