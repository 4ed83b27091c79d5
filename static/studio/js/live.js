// Live updates of the page (the runs lists and the run page) by Server-Sent Events:
// one EventSource per page on the element's data-live-url; no polling. Events reach
// the page's other scripts as DOM events on document:
//   studio:run     {run_id, status, status_html, active, ended_at, duration}
//   studio:points  {run_id, name, steps, values, times, last, min, max, count, truncated}
//   studio:log     {run_id, size}
// and this file updates what a list shows itself: status and duration cells, metric
// cells (data-metric/data-stat), a "N new runs — show" note. The browser reconnects
// by itself (Last-Event-ID: the server resumes after the last change this page saw).
// Server HTML (the status badge) is parsed with DOMParser and moved in as nodes.
"use strict";

(() => {
  const MAX_RUNS = 100; // runs one list stream follows (web/live.py MAX_RUNS)
  let source = null;
  let openedUrl = "";
  let lastId = "";
  let newRuns = 0;
  let reopenTimer = null;

  const root = () => document.querySelector("[data-live-url]");
  const isList = () => root()?.hasAttribute("data-live-list");
  const note = () => document.querySelector("[data-live-note]");

  function liveRunIds() {
    const ids = new Set();
    for (const row of document.querySelectorAll("tr[data-live][data-run-id]")) {
      ids.add(row.dataset.runId);
      if (ids.size >= MAX_RUNS) break;
    }
    return [...ids];
  }

  function streamUrl() {
    const el = root();
    if (!el) return null;
    const url = new URL(el.dataset.liveUrl, location.href);
    if (isList()) for (const id of liveRunIds()) url.searchParams.append("run", id);
    if (lastId) url.searchParams.set("since", lastId);
    return url;
  }

  function open() {
    const url = streamUrl();
    if (!url) return;
    const key = url.toString();
    if (source && source.readyState !== EventSource.CLOSED && key === openedUrl) return;
    source?.close();
    openedUrl = key;
    source = new EventSource(url, { withCredentials: true });
    for (const [name, handler] of Object.entries(HANDLERS)) {
      source.addEventListener(name, (event) => {
        if (event.lastEventId) lastId = event.lastEventId;
        handler(JSON.parse(event.data));
      });
    }
    // For people and tests alike: whether the page is following.
    source.addEventListener("open", () => (root().dataset.liveState = "open"));
    source.addEventListener("error", () => {
      // Closed for good (refused: signed out, too many streams): say so; otherwise
      // the browser is already reconnecting.
      root().dataset.liveState = source.readyState === EventSource.CLOSED ? "closed" : "connecting";
      if (source.readyState === EventSource.CLOSED) showNote("Live updates stopped — reload", true);
    });
  }

  // The set of live rows changed (children expanded, a run ended): follow the new set.
  function reopenSoon() {
    clearTimeout(reopenTimer);
    reopenTimer = setTimeout(() => {
      const url = streamUrl();
      if (url && url.toString() !== openedUrl) open();
    }, 500);
  }

  function showNote(text, always = false) {
    const box = note();
    if (!box) return;
    const link = document.createElement("a");
    link.href = location.href;
    link.textContent = text;
    box.replaceChildren(link);
    box.hidden = false;
    if (always) box.dataset.final = "1";
  }

  const parse = (html) => new DOMParser().parseFromString(html, "text/html").body;
  const byRunId = (id) => document.querySelectorAll(`tr[data-run-id="${CSS.escape(id)}"]`);

  // A metric value as the server writes it (run_tags.num: 4 significant digits, %g).
  function num(value) {
    if (value === null || value === undefined) return "—";
    if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "∞" : "−∞";
    if (value === 0) return "0";
    const [mantissa, exp] = value.toExponential(3).split("e");
    const e = Number(exp);
    if (e < -4 || e >= 4) {
      const m = mantissa.replace(/\.?0+$/, "");
      return `${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
    }
    return String(Number(value.toPrecision(4)));
  }

  function onRun(detail) {
    document.dispatchEvent(new CustomEvent("studio:run", { detail }));
    let ended = false;
    for (const row of byRunId(detail.run_id)) {
      const status = row.querySelector('td[data-col="status"]');
      if (status && detail.status_html) status.replaceChildren(...parse(detail.status_html).childNodes);
      const duration = row.querySelector('td[data-col="duration"]');
      if (duration && detail.duration !== null) duration.textContent = detail.duration;
      if (!detail.active && row.hasAttribute("data-live")) {
        row.removeAttribute("data-live");
        ended = true;
      }
    }
    if (ended) reopenSoon();
  }

  function onPoints(detail) {
    // Metric cells (list.js) and chart lines (charts.js, run.js) follow the event.
    document.dispatchEvent(new CustomEvent("studio:points", { detail }));
  }

  function onNewRun() {
    if (!isList()) return;
    newRuns += 1;
    if (note()?.dataset.final) return;
    showNote(`${newRuns} new run${newRuns === 1 ? "" : "s"} — show`);
  }

  const HANDLERS = {
    run: onRun,
    points: onPoints,
    "new-run": onNewRun,
    log: (detail) => document.dispatchEvent(new CustomEvent("studio:log", { detail })),
    reset: () => {
      showNote("Updates were missed — reload", true);
      source?.close();
    },
  };

  document.addEventListener("DOMContentLoaded", () => {
    open();
    const table = document.querySelector("table.runs.list");
    if (table && isList()) {
      new MutationObserver(reopenSoon).observe(table, { childList: true, subtree: true });
    }
    window.addEventListener("pagehide", () => source?.close());
  });
})();
