// Runs lists (/runs/, a saved view, an experiment): selection, expanding a parent's
// children in place and charts (live updates: live.js). Progressive: the page works
// without this file. Server HTML is parsed with DOMParser and moved in as nodes;
// user text is never assigned through innerHTML.
"use strict";

(() => {
  const parse = (html) => new DOMParser().parseFromString(html, "text/html");

  async function fetchHtml(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
    if (!response.ok) throw new Error(`${response.status} ${url}`);
    return parse(await response.text());
  }

  // --- selection -------------------------------------------------------------------
  function setupSelection() {
    const bulk = document.getElementById("bulk");
    const table = document.querySelector("table.runs.list");
    if (!bulk || !table) return;
    const boxes = () => [...document.querySelectorAll('input[type=checkbox][form="bulk"][name="run"]')];
    const counter = bulk.querySelector("[data-selected-count]");
    const all = table.querySelector("[data-select-all]");
    const update = () => {
      const n = boxes().filter((b) => b.checked).length;
      counter.textContent = n ? `${n} selected` : "";
      for (const el of bulk.querySelectorAll("[data-needs-selection]")) {
        if (el.tagName === "BUTTON") el.disabled = n === 0;
        else el.classList.toggle("is-disabled", n === 0);
      }
      if (all) all.checked = n > 0 && n === boxes().length;
    };
    document.addEventListener("change", (event) => {
      if (event.target === all) for (const b of boxes()) b.checked = all.checked;
      if (event.target.matches?.('input[form="bulk"], [data-select-all]')) update();
    });
    bulk.querySelector("details")?.addEventListener("toggle", (event) => {
      if (boxes().every((b) => !b.checked)) event.target.open = false;
    });
    update();
  }

  // --- children in place -------------------------------------------------------------
  function removeDescendants(row) {
    const id = row.dataset.runId;
    for (const child of document.querySelectorAll(`tr[data-child-of="${CSS.escape(id)}"]`)) {
      if (child.dataset.runId) removeDescendants(child);
      child.remove();
    }
  }

  function insertRows(after, doc, parentId) {
    let anchor = after;
    for (const row of doc.querySelectorAll("tbody > tr")) {
      const node = document.importNode(row, true);
      node.dataset.childOf = parentId;
      anchor.after(node);
      anchor = node;
    }
  }

  function setupChildren() {
    document.addEventListener("click", async (event) => {
      const more = event.target.closest("a[data-more-url]");
      if (more) {
        event.preventDefault();
        const row = more.closest("tr");
        const doc = await fetchHtml(more.dataset.moreUrl);
        insertRows(row, doc, row.dataset.childOf);
        row.remove();
        return;
      }
      const toggle = event.target.closest("a.expander[data-children-url]");
      if (!toggle) return;
      event.preventDefault();
      const row = toggle.closest("tr");
      if (toggle.getAttribute("aria-expanded") === "true") {
        removeDescendants(row);
        toggle.setAttribute("aria-expanded", "false");
        return;
      }
      toggle.setAttribute("aria-busy", "true");
      try {
        insertRows(row, await fetchHtml(toggle.dataset.childrenUrl), row.dataset.runId);
        toggle.setAttribute("aria-expanded", "true");
      } finally {
        toggle.removeAttribute("aria-busy");
      }
    });
  }

  // --- charts ----------------------------------------------------------------------------
  function drawCharts() {
    const boxes = document.querySelectorAll("[data-figure]");
    if (!boxes.length || !window.Plotly) return;
    for (const box of boxes) {
      const data = document.getElementById(box.dataset.figure);
      if (!data) continue;
      const figure = JSON.parse(data.textContent);
      window.Plotly.newPlot(box, figure.data, figure.layout, { displaylogo: false, responsive: true });
    }
  }

  // GET forms leave out their empty fields, so the link stays short (the server
  // redirects to the same clean link when this script did not run).
  function setupCleanForms() {
    document.addEventListener("submit", (event) => {
      const form = event.target;
      if (form.method !== "get") return;
      const empty = [...form.elements].filter(
        (field) => field.name && !field.disabled && field.type !== "checkbox" && field.value.trim() === "",
      );
      for (const field of empty) field.disabled = true;
      // Back on: the entry list is built once this event is over (and the back button
      // may restore this page).
      setTimeout(() => { for (const field of empty) field.disabled = false; }, 0);
    });
  }

  // A dropdown closes when another opens, on a click outside it, and on Escape.
  function setupDropdowns() {
    const close = (except) => {
      for (const open of document.querySelectorAll("details.dropdown[open]")) {
        if (!open.contains(except)) open.open = false;
      }
    };
    document.addEventListener("click", (event) => close(event.target));
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      const open = event.target.closest?.("details.dropdown[open]");
      if (open) {
        open.open = false;
        open.querySelector("summary")?.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupDropdowns();
    setupCleanForms();
    setupSelection();
    setupChildren();
    drawCharts();
  });
})();
