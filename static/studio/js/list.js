// Runs lists (/runs/, a saved view, an experiment): selection, expanding a parent's
// children in place, charts and the columns (finding one in the picker, resizing,
// moving and pinning); live updates: live.js. Progressive: the page works
// without this file. Server HTML is parsed with DOMParser and moved in as nodes;
// user text is never assigned through innerHTML.
"use strict";

(() => {
  const parse = (html) => new DOMParser().parseFromString(html, "text/html");
  const byRunId = (root, id) => root.querySelector(`tr[data-run-id="${CSS.escape(id)}"]`);

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
        else {
          el.classList.toggle("is-disabled", n === 0);
          el.setAttribute("aria-disabled", String(n === 0));
        }
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
        const doc = await window.Studio.busy(more, fetchHtml(more.dataset.moreUrl));
        insertRows(row, doc, row.dataset.childOf);
        row.remove();
        repin();
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
      insertRows(row, await window.Studio.busy(toggle, fetchHtml(toggle.dataset.childrenUrl)), row.dataset.runId);
      toggle.setAttribute("aria-expanded", "true");
      repin();
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
      window.Plotly.newPlot(box, figure.data, window.studioTheme.apply(figure.layout), { displaylogo: false, responsive: true });
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

  // --- keyboard: j / k move through the runs, Enter opens, x selects ------------------
  // The current run is marked aria-current and its name link takes the focus, so Enter
  // opens it as a link would (and the browser shows the focus ring).
  function setupKeyboard() {
    const table = document.querySelector("table.runs.list");
    if (!table) return;
    const rows = () => [...table.querySelectorAll("tbody tr[data-run-id]")].filter((r) => r.offsetParent !== null);
    const current = () => table.querySelector('tbody tr[aria-current="true"]');
    const mark = (row) => {
      current()?.removeAttribute("aria-current");
      row.setAttribute("aria-current", "true");
      row.scrollIntoView({ block: "nearest" });
      row.querySelector("a.name")?.focus({ preventScroll: true });
    };
    table.addEventListener("focusin", (event) => {
      const row = event.target.closest("tr[data-run-id]");
      if (row && row !== current()) {
        current()?.removeAttribute("aria-current");
        row.setAttribute("aria-current", "true");
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.closest?.("input, textarea, select, [contenteditable], dialog[open], details[open]")) return;
      const all = rows();
      if (!all.length) return;
      const at = all.indexOf(current());
      if (event.key === "j" || event.key === "k") {
        event.preventDefault();
        const step = event.key === "j" ? 1 : -1;
        mark(all[at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step))]);
      } else if (event.key === "Enter" && at >= 0 && !event.target.closest("a, button, summary")) {
        event.preventDefault();
        all[at].querySelector("a.name")?.click();
      } else if (event.key === "x" && at >= 0) {
        const box = all[at].querySelector('input[type=checkbox][name="run"]');
        if (!box) return;
        event.preventDefault();
        box.click();
      }
    });
  }

  // --- columns: find in the picker, widths, order, pins -------------------------------
  function setupPickerSearch() {
    const input = document.querySelector("[data-picker-search]");
    if (!input) return;
    const form = input.closest("form");
    const none = form.querySelector("[data-picker-none]");
    input.hidden = false;
    input.addEventListener("input", () => {
      const words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      let any = false;
      for (const group of form.querySelectorAll("[data-picker-group]")) {
        let shown = 0;
        for (const item of group.querySelectorAll("[data-picker-item]")) {
          const hit = words.every((w) => item.dataset.pickerItem.includes(w));
          item.hidden = !hit;
          if (hit) shown += 1;
        }
        group.hidden = shown === 0;
        any = any || shown > 0;
      }
      if (none) none.hidden = any;
    });
    // Enter in the search box must not apply the form before a column is chosen.
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") event.preventDefault();
    });
    form.closest("details")?.addEventListener("toggle", (event) => {
      if (event.target.open) input.focus();
    });
  }

  // The list's link with its columns written out in ``keys`` order and ``widths``
  // (key -> px): what resizing or moving a column opens (the server renders it).
  function layoutUrl(table, keys, widths) {
    const url = new URL(table.dataset.listUrl, location.href);
    const hidden = JSON.parse(document.getElementById("list-hidden-columns")?.textContent || "[]");
    for (const name of ["col", "width", "after", "before"]) url.searchParams.delete(name);
    for (const key of [...keys, ...hidden]) url.searchParams.append("col", key);
    for (const [key, px] of Object.entries(widths)) url.searchParams.append("width", `${px}:${key}`);
    return url;
  }

  const headCells = (table) => [...table.querySelectorAll("thead th[data-col-key]")];
  const currentWidths = (table) => Object.fromEntries(
    headCells(table).filter((th) => th.dataset.width).map((th) => [th.dataset.colKey, Number(th.dataset.width)]),
  );

  function setupColumnLayout() {
    const table = document.querySelector("table.runs.list[data-list-url]");
    if (!table) return;
    for (const th of headCells(table)) {
      if (th.dataset.width) th.style.width = `${th.dataset.width}px`;
      const grip = document.createElement("span");
      grip.className = "col-resize";
      grip.title = "Drag to resize the column";
      th.append(grip);
      grip.addEventListener("pointerdown", (event) => startResize(event, table, th, grip));
      th.draggable = true;
      // The header moves as a whole, wherever it is grabbed (not its sort link).
      for (const link of th.querySelectorAll("a")) link.draggable = false;
      th.addEventListener("dragstart", (event) => {
        event.dataTransfer.setData("text/x-studio-column", th.dataset.colKey);
        event.dataTransfer.effectAllowed = "move";
        th.classList.add("dragging");
      });
      th.addEventListener("dragend", () => th.classList.remove("dragging"));
      th.addEventListener("dragover", (event) => {
        if (event.dataTransfer.types.includes("text/x-studio-column")) {
          event.preventDefault();
          th.classList.add("drop-target");
        }
      });
      th.addEventListener("dragleave", () => th.classList.remove("drop-target"));
      th.addEventListener("drop", (event) => {
        event.preventDefault();
        th.classList.remove("drop-target");
        const moved = event.dataTransfer.getData("text/x-studio-column");
        const keys = headCells(table).map((h) => h.dataset.colKey).filter((k) => k !== moved);
        if (!moved || moved === th.dataset.colKey) return;
        keys.splice(keys.indexOf(th.dataset.colKey), 0, moved);
        location.assign(layoutUrl(table, keys, currentWidths(table)));
      });
    }
    fitWidth(table);
    placePinned(table);
  }

  // A fixed-layout table shares its width among the columns: with many of them it
  // grows (the page scrolls sideways) rather than squeezing the tags to nothing.
  const LEAST = { "w-name": 200, "w-exp": 110, "w-tags": 160, "w-desc": 200 };
  function fitWidth(table) {
    let total = 34;
    for (const th of headCells(table)) {
      const fixed = Number(th.dataset.width) || LEAST[th.classList[0]];
      total += fixed || th.getBoundingClientRect().width || 100;
    }
    table.style.minWidth = `${Math.max(1040, Math.round(total))}px`;
    // Set widths hold only if some column takes what is left over: the tags column,
    // else an empty one at the end.
    if (table.querySelector("thead th.w-tags") || !table.querySelector("thead th[data-width]")) return;
    const rows = [...table.querySelectorAll("tr")].filter((row) => !row.querySelector(":scope > .w-fill, :scope > .fill"));
    for (const row of rows) {
      const cell = document.createElement(row.parentElement.tagName === "THEAD" ? "th" : "td");
      cell.className = row.parentElement.tagName === "THEAD" ? "w-fill" : "fill";
      cell.setAttribute("aria-hidden", "true");
      row.append(cell);
    }
  }

  function repin() {
    const table = document.querySelector("table.runs.list");
    if (!table) return;
    fitWidth(table);
    placePinned(table);
  }

  function startResize(event, table, th, grip) {
    event.preventDefault();
    event.stopPropagation();
    th.draggable = false;
    grip.setPointerCapture(event.pointerId);
    const startX = event.clientX;
    const startWidth = th.getBoundingClientRect().width;
    const move = (e) => {
      const width = Math.round(Math.min(800, Math.max(40, startWidth + e.clientX - startX)));
      th.style.width = `${width}px`;
      th.dataset.width = String(width);
      fitWidth(table);
      placePinned(table);
    };
    const stop = () => {
      grip.removeEventListener("pointermove", move);
      th.draggable = true;
      if (Math.abs(th.getBoundingClientRect().width - startWidth) < 2) return;
      location.assign(layoutUrl(table, headCells(table).map((h) => h.dataset.colKey), currentWidths(table)));
    };
    grip.addEventListener("pointermove", move);
    grip.addEventListener("pointerup", stop, { once: true });
  }

  // Pinned columns come first (the server orders them so); each sticks at the
  // left edge after the ones before it, in the header and in every row.
  function placePinned(table) {
    const pinned = [...table.querySelectorAll("thead th.pinned")];
    let left = 0;
    for (const th of pinned) {
      const index = th.cellIndex;
      th.style.left = `${left}px`;
      for (const row of table.tBodies[0]?.rows || []) {
        const cell = row.cells[index];
        if (!cell) continue;
        cell.classList.add("pinned");
        cell.style.left = `${left}px`;
      }
      left += th.getBoundingClientRect().width;
    }
    pinned.at(-1)?.classList.add("pinned-last");
  }

  // --- live metric cells ------------------------------------------------------------
  // live.js dispatches ``studio:points`` (run_id, name, steps, values) as a running
  // run logs; the run's last/min/max cells of that metric follow (and their
  // difference to the baseline). Values may be null for non-finite points.
  const formatNum = (v) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))));
  function updateMetricCells(detail) {
    const table = document.querySelector("table.runs.list");
    const row = table && byRunId(table, String(detail.run_id));
    if (!row || !Array.isArray(detail.values) || !detail.values.length) return;
    const finite = detail.values.filter((v) => typeof v === "number" && Number.isFinite(v));
    const last = detail.values[detail.values.length - 1];
    // The server's summary of the whole series when the event carries it (live.js).
    const summary = { last: detail.last, min: detail.min, max: detail.max };
    for (const stat of ["last", "min", "max"]) {
      const th = table.querySelector(`thead th[data-col-key="${CSS.escape(`metric:${stat}:${detail.name}`)}"]`);
      const cell = th && row.cells[th.cellIndex];
      if (!cell) continue;
      const old = cell.dataset.value === undefined ? null : Number(cell.dataset.value);
      let value = null;
      if (typeof summary[stat] === "number") value = summary[stat];
      else if (stat === "last") value = typeof last === "number" ? last : NaN;
      else if (finite.length) {
        const pick = stat === "min" ? Math.min(...finite) : Math.max(...finite);
        value = old === null || Number.isNaN(old) ? pick : (stat === "min" ? Math.min(old, pick) : Math.max(old, pick));
      }
      if (value === null) continue;
      cell.dataset.value = String(value);
      cell.title = `${th.textContent.trim()}: ${value}`;
      const shown = [document.createTextNode(Number.isNaN(value) ? "NaN" : formatNum(value))];
      if (cell.dataset.base !== undefined && !Number.isNaN(value)) {
        const delta = value - Number(cell.dataset.base);
        const verdict = delta === 0 ? "same" : (delta < 0) === (cell.dataset.lower === "1") ? "better" : "worse";
        const span = document.createElement("span");
        span.className = `delta delta-${verdict}`;
        span.textContent = `${delta > 0 ? "+" : delta < 0 ? "−" : "±"}${formatNum(Math.abs(delta))}`;
        shown.push(span);
      }
      if (cell.classList.contains("num")) cell.replaceChildren(...shown);
    }
  }
  document.addEventListener("studio:points", (event) => updateMetricCells(event.detail || {}));

  document.addEventListener("DOMContentLoaded", () => {
    setupKeyboard();
    setupPickerSearch();
    setupColumnLayout();
    setupCleanForms();
    setupSelection();
    setupChildren();
    drawCharts();
  });
})();
