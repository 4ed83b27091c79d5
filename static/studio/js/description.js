// A run description on its page: live charts embedded in the text, and the editor's
// keyboard (Ctrl/Cmd+Enter saves, Esc cancels), unsaved-changes guard and image
// paste/drop. Works over the forms of templates/web/_run_description.html; without
// this file they still save, preview and cancel (run.js swaps them in place).
//
// User text is inserted as text (value, textContent); the charts reuse the panel grid
// of charts.js (window.StudioCharts) on the same /charts/series/ endpoint.
"use strict";

(() => {
  const ENDPOINT = "/charts/series/";

  // --- charts: ```chart blocks rendered as <div class="md-chart"> by the server ----------
  function csrfToken() {
    return document.querySelector("[data-section=description] [data-csrf]")?.value
      || document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
  }

  function mountChart(el) {
    if (el.dataset.mounted || !window.StudioCharts) return;
    el.dataset.mounted = "1";
    const runs = [...el.querySelectorAll(".md-chart-runs a[data-run]")].map((a) => ({
      id: a.dataset.run, label: a.textContent,
    }));
    const metric = el.dataset.metric;
    if (!runs.length || !metric) return;
    const csrf = document.createElement("input");
    csrf.type = "hidden";
    csrf.dataset.csrf = "";
    csrf.value = csrfToken();
    const legend = document.createElement("div");
    legend.className = "panels-legend";
    legend.dataset.panelsLegend = "";
    const status = document.createElement("p");
    status.className = "muted panels-status";
    status.dataset.panelsStatus = "";
    status.setAttribute("role", "status");
    const grid = document.createElement("div");
    grid.className = "panels-grid";
    grid.dataset.panelsGrid = "";
    el.append(csrf, grid, legend, status);
    const chart = window.StudioCharts.mount(el, {
      endpoint: ENDPOINT,
      runs,
      panels: [metric],
      metrics: [metric],
      options: { x: "step", smooth: el.dataset.smooth || "", log: el.dataset.log === "1", band: "minmax", top: runs.length },
      group: null,
      compare: true, // no runs table to bind, no list state in the URL
    });
    chart.ready.then(() => {
      if (el.querySelector("[data-panel][data-drawn]")) el.classList.add("drawn");
    });
  }

  const mountAll = (root = document) => root.querySelectorAll(".markdown .md-chart").forEach(mountChart);
  let pending = null;
  new MutationObserver(() => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => mountAll());
  }).observe(document.documentElement, { childList: true, subtree: true });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => mountAll());
  else mountAll();

  // --- the editor --------------------------------------------------------------------------
  const editorForm = () => document.querySelector("[data-description-form]");
  let submitting = false;

  function dirty(form = editorForm()) {
    if (!form || submitting) return false;
    const text = form.elements.description;
    return Boolean(text) && text.value !== (form.dataset.saved ?? text.defaultValue);
  }

  document.addEventListener("submit", (event) => {
    if (event.target.matches("[data-description-form]")) {
      const action = event.submitter?.value || "save";
      if (action === "save") submitting = true;
      // run.js posts it and swaps the section; a guard for the next form starts fresh.
      setTimeout(() => { submitting = false; }, 0);
    }
  }, true);

  window.addEventListener("beforeunload", (event) => {
    if (!dirty()) return;
    event.preventDefault();
    event.returnValue = "";
  });

  // Cancel with unsaved text asks first (capture: before run.js swaps the section).
  document.addEventListener("click", (event) => {
    const cancel = event.target.closest("[data-cancel-edit]");
    if (!cancel || !dirty()) return;
    if (!window.confirm("Discard your changes to the description?")) {
      event.preventDefault();
      event.stopImmediatePropagation();
    } else {
      editorForm().dataset.saved = editorForm().elements.description.value; // leave without a second question
    }
  }, true);

  document.addEventListener("keydown", (event) => {
    const form = event.target.closest?.("[data-description-form]");
    if (!form) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit(form.querySelector('button[value="save"]'));
    } else if (event.key === "Escape") {
      event.preventDefault();
      form.querySelector("[data-cancel-edit]")?.click();
    }
  });

  // --- images pasted or dropped: uploaded, then written into the text as markdown ----------
  function insertAt(text, start, end, value) {
    text.setRangeText(value, start, end, "end");
    text.dispatchEvent(new Event("input", { bubbles: true })); // the preview follows
  }

  async function upload(text, file) {
    const form = text.form;
    const status = form.querySelector("[data-attach-status]");
    const marker = `![Uploading ${file.name || "image"}…]()`;
    insertAt(text, text.selectionStart, text.selectionEnd, marker);
    const body = new FormData();
    body.append("file", file, file.name || "pasted-image");
    let message = "";
    let replacement = "";
    try {
      const response = await fetch(form.dataset.attachUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
        body,
      });
      const payload = await response.json().catch(() => ({}));
      if (response.ok) replacement = payload.markdown;
      else message = payload.error || `The image could not be attached (${response.status}).`;
    } catch {
      message = "The image could not be attached: the server did not answer.";
    }
    const at = text.value.indexOf(marker);
    if (at >= 0) insertAt(text, at, at + marker.length, replacement);
    if (status) status.textContent = message || `Attached ${file.name || "the image"}.`;
    status?.classList.toggle("error", Boolean(message));
  }

  document.addEventListener("paste", (event) => {
    const text = event.target.closest?.("[data-description-form] textarea");
    const files = [...(event.clipboardData?.files || [])];
    if (!text || !files.length) return;
    event.preventDefault();
    for (const file of files) upload(text, file);
  });

  document.addEventListener("dragover", (event) => {
    const text = event.target.closest?.("[data-description-form] textarea");
    if (!text || ![...(event.dataTransfer?.types || [])].includes("Files")) return;
    event.preventDefault();
    text.classList.add("dropping");
  });
  document.addEventListener("dragleave", (event) => {
    event.target.closest?.("[data-description-form] textarea")?.classList.remove("dropping");
  });
  document.addEventListener("drop", (event) => {
    const text = event.target.closest?.("[data-description-form] textarea");
    const files = [...(event.dataTransfer?.files || [])];
    if (!text || !files.length) return;
    event.preventDefault();
    text.classList.remove("dropping");
    text.focus();
    for (const file of files) upload(text, file);
  });
})();
