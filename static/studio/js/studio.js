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
