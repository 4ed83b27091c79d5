// The run page and compare: progressive enhancements over server-rendered HTML.
// Every form and link here works without this file; the script swaps sections in
// place, follows the live log, draws charts and loads the child tree lazily.
//
// User data is inserted as text (textContent, text nodes). The only HTML inserted is
// a partial rendered by our templates (autoescaped; descriptions already sanitized
// by studio/core/markdown.py), parsed with DOMParser, which never runs scripts.
"use strict";

(() => {
  document.documentElement.classList.add("js");
  const FRAGMENT = { "X-Studio-Fragment": "1" };
  const busy = window.Studio.busy; // studio.js: aria-busy, and "Loading…" after 300 ms

  // form.getAttribute("action"), not form.action: an input named "action" shadows it.
  const parse = (html) => new DOMParser().parseFromString(html, "text/html").body;

  async function fetchText(url, options = {}) {
    const response = await fetch(url, {
      credentials: "same-origin",
      ...options,
      headers: { ...FRAGMENT, ...(options.headers || {}) },
    });
    return { response, text: await response.text() };
  }

  // Replace a [data-section] element by the same section in a fragment response; a
  // response that is not that section (signed out, an error page) reloads the page.
  function swap(section, html) {
    const fresh = parse(html).querySelector("[data-section]");
    if (!fresh || fresh.dataset.section !== section.dataset.section) {
      window.location.reload();
      return null;
    }
    section.replaceWith(fresh);
    return fresh;
  }

  const runUrl = () => document.querySelector("[data-run-page]")?.dataset.runUrl;

  async function refreshSection(name, query = "") {
    const section = document.querySelector(`[data-section="${name}"]`);
    const base = runUrl();
    if (!section || !base) return null;
    const { response, text } = await busy(section, fetchText(`${base}?section=${name}${query}`));
    return response.ok ? swap(section, text) : null;
  }

  // --- forms that update one section ---------------------------------------------------

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.matches("[data-description-form]")) return describe(event);
    if (form.matches("[data-log-search]")) return searchLog(event);
    if (form.matches("[data-cancel-form]")) return cancelRun(event);
    if (!form.matches("[data-fragment]")) return;
    const section = form.closest("[data-section]");
    if (!section) return;
    event.preventDefault();
    const { response, text } = await busy(section, fetchText(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form, event.submitter),
    }));
    if (response.ok || response.status === 400) {
      const fresh = swap(section, text);
      fresh?.querySelector(".alert ~ form input:not([type=hidden]), #tag-key")?.focus();
    } else {
      window.location.reload();
    }
  });

  // --- cancel: the dialog posts, then the header, details and steps show the new state ----

  async function cancelRun(event) {
    const form = event.target;
    const status = document.querySelector('[data-section="status"]');
    if (!status) return;
    event.preventDefault();
    const { response, text } = await busy(form, fetchText(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form, event.submitter),
    }));
    form.closest("dialog")?.close();
    if (!response.ok && response.status !== 400) return window.location.reload();
    swap(status, text);
    await refreshAfterStatus();
  }

  async function refreshAfterStatus() {
    for (const name of ["details", "steps"]) {
      if (document.querySelector(`[data-section="${name}"]`)) await refreshSection(name);
    }
  }

  // --- the description: edit in place with a live preview ---------------------------------

  let previewTimer = null;

  async function describe(event) {
    const form = event.target;
    const action = event.submitter?.value || "save";
    event.preventDefault();
    if (action === "preview") return preview(form);
    const section = form.closest("[data-section]");
    const { response, text } = await busy(section, fetchText(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form, event.submitter),
    }));
    if ([200, 400, 409].includes(response.status)) swap(section, text);
    else window.location.reload();
  }

  async function preview(form) {
    const body = new FormData(form);
    body.set("action", "preview");
    const target = form.querySelector("[data-preview]");
    const { response, text } = await busy(target, fetchText(form.getAttribute("action"), { method: "POST", body }));
    if (response.ok && target) target.replaceChildren(...parse(text).childNodes);
  }

  document.addEventListener("input", (event) => {
    const form = event.target.closest("[data-description-form]");
    if (!form || event.target.name !== "description") return;
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => preview(form), 350);
  });

  document.addEventListener("click", async (event) => {
    const target = event.target.closest(
      "[data-edit-description], [data-cancel-edit], [data-edit-tag], [data-copy], " +
        "[data-open-dialog], [data-close-dialog], [data-more-url], [data-log-earlier], " +
        "[data-log-end], [data-log-jump], [data-log-next], [data-log-prev], [data-log-wrap]",
    );
    if (!target) return;
    if (target.matches("[data-edit-description]")) {
      event.preventDefault();
      const fresh = await refreshSection("description", "&edit=description");
      fresh?.querySelector("textarea")?.focus();
    } else if (target.matches("[data-cancel-edit]")) {
      event.preventDefault();
      await refreshSection("description");
    } else if (target.matches("[data-edit-tag]")) {
      const form = target.closest("[data-section]").querySelector("[data-tag-form]");
      form.elements.key.value = target.dataset.key;
      form.elements.value.value = target.dataset.value;
      form.elements.value.focus();
      form.elements.value.select();
    } else if (target.matches("[data-copy]")) {
      await navigator.clipboard?.writeText(target.dataset.copy);
      const label = target.textContent;
      target.textContent = "Copied";
      setTimeout(() => (target.textContent = label), 1200);
    } else if (target.matches("[data-open-dialog]")) {
      const dialog = document.getElementById(target.dataset.openDialog);
      if (!dialog) return;
      event.preventDefault();
      if (dialog.open) dialog.close();
      dialog.showModal();
    } else if (target.matches("[data-close-dialog]")) {
      event.preventDefault();
      target.closest("dialog")?.close();
    } else if (target.matches("[data-more-url]")) {
      event.preventDefault();
      const { response, text } = await busy(target.closest("li"), fetchText(target.dataset.moreUrl));
      const list = parse(text).querySelector("[data-children-list]");
      if (response.ok && list) target.closest("li").replaceWith(...list.children);
    } else {
      logClick(event, target);
    }
  });

  // --- the child tree: a level loads when it is opened ------------------------------------

  document.addEventListener(
    "toggle",
    async (event) => {
      const details = event.target;
      if (!details.open || !details.matches?.("details[data-children-url]")) return;
      if (details.dataset.loaded) return;
      details.dataset.loaded = "1";
      const body = details.querySelector("[data-children-body]");
      const { response, text } = await busy(body, fetchText(details.dataset.childrenUrl));
      const list = parse(text).querySelector("[data-children-list]");
      if (response.ok && list) body.replaceChildren(list);
      else delete details.dataset.loaded;
    },
    true,
  );

  // --- live status (and pipeline steps): live.js tells when the run's status changed ------

  const isThisRun = (detail) =>
    detail.run_id === document.querySelector("[data-run-page]")?.dataset.runId;

  document.addEventListener("studio:run", async (event) => {
    if (!isThisRun(event.detail)) return;
    await refreshSection("status");
    await refreshAfterStatus();
    if (!event.detail.active && log.box) {
      log.box.dataset.active = "0";
      follow();
    }
  });

  // A pipeline's page also hears its steps (web/views/live.py): a step whose status
  // changed redraws the steps section (graph and table); a burst makes one refresh.
  let stepsRefresh = null;
  document.addEventListener("studio:run", (event) => {
    const id = event.detail.run_id;
    if (isThisRun(event.detail) || stepsRefresh) return;
    if (!document.querySelector(`[data-section="steps"] [data-step-run-id="${CSS.escape(id)}"]`)) return;
    stepsRefresh = setTimeout(() => {
      stepsRefresh = null;
      refreshSection("steps");
    }, 150);
  });

  // --- the log viewer --------------------------------------------------------------------
  // One span per line, its number in data-n (shown by the stylesheet, not copied) and a
  // class for ERROR / WARN / traceback lines; the text goes in as text nodes only.

  const MAX_LOG_CHARS = 4_000_000; // keep the page light when following a chatty run
  const LINE_ERROR = /\b(error|fatal|critical)\b|^([\w.]*(Error|Exception))(:|$)/i;
  const LINE_WARN = /\bwarn(ing)?\b|^[\w.]*Warning:/i;
  const TRACE_START = /^Traceback \(most recent call last\):/;
  const WRAP_KEY = "studio.log.wrap";

  const log = {};

  // The class of a line; `state.trace` carries a traceback over to the next lines.
  function lineClass(text, state) {
    if (TRACE_START.test(text)) {
      state.trace = true;
      return "log-trace";
    }
    if (state.trace) {
      if (/^\s/.test(text)) return "log-trace";
      state.trace = false;
      if (text) return "log-error"; // the exception that ends the traceback
    }
    if (LINE_ERROR.test(text)) return "log-error";
    if (LINE_WARN.test(text)) return "log-warn";
    return "";
  }

  // `text` into `parent` as text, with each occurrence of `query` in a <mark>.
  function appendMarked(parent, text, query) {
    const lower = query ? text.toLowerCase() : "";
    const needle = query.toLowerCase();
    if (!query || lower.length !== text.length || !lower.includes(needle)) {
      parent.append(text);
      return;
    }
    let at = 0;
    for (let found = lower.indexOf(needle); found !== -1; found = lower.indexOf(needle, at)) {
      if (found > at) parent.append(text.slice(at, found));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(found, found + needle.length);
      parent.append(mark);
      at = found + needle.length;
    }
    if (at < text.length) parent.append(text.slice(at));
  }

  // Whole lines of text as numbered spans (a fragment), numbers from `first`.
  function lineSpans(text, first, state) {
    const fragment = document.createDocumentFragment();
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    lines.forEach((line, i) => {
      const span = document.createElement("span");
      span.className = "ln";
      const kind = lineClass(line, state);
      if (kind) span.classList.add(kind);
      span.dataset.n = String(first + i);
      appendMarked(span, `${line}\n`, log.query);
      fragment.append(span);
    });
    return { fragment, count: lines.length };
  }

  function numberLines() {
    let n = log.first;
    for (const span of log.pre.children) span.dataset.n = String(n++);
    log.next = n;
  }

  // Say where the numbers come from: the log's start, a search result, or the part shown.
  function noteNumbers() {
    if (!log.note) return;
    log.note.hidden = log.start === 0;
    if (log.start < 0) log.note.textContent = "Showing the end of the log; line numbers count from there.";
    else if (log.real) log.note.textContent = `Showing the log from line ${log.first.toLocaleString("en")} (byte ${log.start.toLocaleString("en")}).`;
    else log.note.textContent = `Showing the end of the log from byte ${log.start.toLocaleString("en")}; line numbers count from there.`;
  }

  // Replace the text shown; `first` is the real number of its first line, if known.
  function render(text, first) {
    log.real = log.start === 0 || Boolean(first);
    log.first = log.start === 0 ? 1 : first || 1;
    log.trace = {};
    const { fragment, count } = lineSpans(text, log.first, log.trace);
    log.pre.replaceChildren(fragment);
    log.next = log.first + count;
    noteNumbers();
  }

  function setWrap(wrap) {
    log.pre.classList.toggle("nowrap", !wrap);
    log.wrap?.setAttribute("aria-pressed", String(wrap));
  }

  function initLog() {
    const box = document.querySelector("[data-log][data-log-url]");
    if (!box) return;
    const pre = box.querySelector("[data-log-text]");
    Object.assign(log, {
      box,
      pre,
      url: box.dataset.logUrl,
      start: Number(box.dataset.start),
      end: Number(box.dataset.end),
      atEnd: box.dataset.tail === "1",
      state: box.querySelector("[data-log-state]"),
      earlier: box.querySelector("[data-log-earlier]"),
      results: box.querySelector("[data-log-results]"),
      note: box.querySelector("[data-log-note]"),
      wrap: box.querySelector("[data-log-wrap]"),
      query: pre.dataset.query || "",
      current: -1,
    });
    render(pre.textContent, Number(pre.dataset.firstLine) || 0);
    setWrap(localStorage.getItem(WRAP_KEY) !== "0");
    markCurrent(matchItems().findIndex((li) => Number(li.dataset.offset) === log.start));
    if (log.atEnd) log.pre.scrollTop = log.pre.scrollHeight;
    document.addEventListener("studio:log", (event) => {
      if (isThisRun(event.detail) && event.detail.size > log.end) follow();
    });
    follow();
  }

  const nearBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 48;

  function setState(text) {
    if (log.state) log.state.textContent = text;
  }

  function formatSize(bytes) {
    const units = ["B", "KB", "MB", "GB"];
    let i = 0;
    while (bytes >= 1024 && i < units.length - 1) {
      bytes /= 1024;
      i += 1;
    }
    return i ? `${bytes.toFixed(1)} ${units[i]}` : `${bytes} B`;
  }

  // Read the new bytes: when the page opens, when live.js says the log grew, and again
  // at once while the server has more than one read returns (a fast writer).
  let following = false;
  let followAgain = false;
  async function follow() {
    if (!log.atEnd) return;
    if (following) {
      followAgain = true; // the log grew while a read was under way
      return;
    }
    following = true;
    let delay = null;
    try {
      const response = await fetch(`${log.url}&offset=${log.end}`, { credentials: "same-origin" });
      if (response.ok) {
        const chunk = await response.json();
        if (chunk.start === log.end && log.atEnd) {
          if (chunk.text) {
            const stick = nearBottom(log.pre);
            const { fragment, count } = lineSpans(chunk.text, log.next, log.trace);
            log.pre.append(fragment);
            log.next += count;
            trimLog();
            if (stick) log.pre.scrollTop = log.pre.scrollHeight;
          }
          log.end = chunk.end;
        }
        log.behind = chunk.end < chunk.size && chunk.text !== "";
        log.box.dataset.active = chunk.active ? "1" : "0";
        setState(`${chunk.active ? "following · " : ""}${formatSize(chunk.size)}`);
        if (log.behind) delay = 50; // catching up with a fast writer
      }
    } catch {
      // The server is away for a moment: the next "log" event reads again.
    } finally {
      following = false;
    }
    if (followAgain) {
      followAgain = false;
      delay = delay ?? 0;
    }
    if (delay !== null) setTimeout(follow, delay);
  }

  // Drop the oldest lines when the page holds too much; the numbers of the rest stay.
  function trimLog() {
    let excess = log.pre.textContent.length;
    if (excess <= MAX_LOG_CHARS) return;
    excess -= MAX_LOG_CHARS / 2;
    while (excess > 0 && log.pre.firstChild) {
      excess -= log.pre.firstChild.textContent.length;
      log.pre.firstChild.remove();
    }
    log.start = -1; // no longer known in bytes: "Earlier" reloads from the server
    if (log.earlier) log.earlier.hidden = true;
    noteNumbers();
  }

  async function showChunk(params, { line = 0, atEnd = false } = {}) {
    const response = await busy(log.box, fetch(`${log.url}${params}`, { credentials: "same-origin" }));
    if (!response.ok) return;
    const chunk = await response.json();
    Object.assign(log, { start: chunk.start, end: chunk.end, atEnd });
    render(chunk.text, line);
    if (line) log.pre.firstElementChild?.classList.add("current");
    if (log.earlier) log.earlier.hidden = chunk.start <= 0;
    log.pre.scrollTop = atEnd ? log.pre.scrollHeight : 0;
    setState(`${atEnd && chunk.active ? "following · " : ""}${formatSize(chunk.size)}`);
  }

  async function showEarlier() {
    if (log.start < 0) return showChunk("", { atEnd: true });
    const url = `${log.url}&before=${log.start}`;
    const response = await busy(log.box, fetch(url, { credentials: "same-origin" }));
    if (!response.ok) return;
    const chunk = await response.json();
    const height = log.pre.scrollHeight;
    const { fragment, count } = lineSpans(chunk.text, 1, {});
    log.pre.prepend(fragment);
    log.start = chunk.start;
    // From the log's start the numbers are real; before, they go on counting back.
    if (chunk.start === 0) Object.assign(log, { first: 1, real: true });
    else if (log.real && log.first - count >= 1) log.first -= count;
    else Object.assign(log, { first: 1, real: false });
    numberLines();
    noteNumbers();
    log.pre.scrollTop += log.pre.scrollHeight - height;
    if (log.earlier) log.earlier.hidden = chunk.start <= 0;
  }

  async function logClick(event, target) {
    if (!log.box) return;
    event.preventDefault();
    if (target.matches("[data-log-end]")) {
      if (log.atEnd) log.pre.scrollTop = log.pre.scrollHeight;
      else await showChunk("", { atEnd: true });
    } else if (target.matches("[data-log-jump]")) {
      markCurrent(matchItems().indexOf(target.closest("li")));
      await showChunk(`&offset=${target.dataset.logJump}`, { line: Number(target.dataset.line) });
      log.pre.focus();
    } else if (target.matches("[data-log-earlier]")) {
      await showEarlier();
    } else if (target.matches("[data-log-next], [data-log-prev]")) {
      await step(target.matches("[data-log-next]") ? 1 : -1);
    } else if (target.matches("[data-log-wrap]")) {
      const wrap = log.pre.classList.contains("nowrap");
      setWrap(wrap);
      localStorage.setItem(WRAP_KEY, wrap ? "1" : "0");
    }
  }

  // --- search results: each match with two lines either side; n / N go through them ---

  const matchItems = () => [...(log.results?.querySelectorAll("li.match") || [])];

  function markCurrent(index) {
    const items = matchItems();
    log.current = index;
    items.forEach((li, i) => li.toggleAttribute("aria-current", i === index));
    const position = log.results?.querySelector("[data-log-position]");
    if (position) position.textContent = index >= 0 ? `${index + 1} of ${items.length}` : "";
    if (index >= 0) items[index].scrollIntoView({ block: "nearest" });
  }

  async function step(delta) {
    const items = matchItems();
    if (!items.length) return;
    const index = log.current < 0 ? (delta > 0 ? 0 : items.length - 1) : (log.current + delta + items.length) % items.length;
    markCurrent(index);
    const link = items[index].querySelector("[data-log-jump]");
    await showChunk(`&offset=${link.dataset.logJump}`, { line: Number(link.dataset.line) });
  }

  document.addEventListener("keydown", (event) => {
    if (event.key !== "n" && event.key !== "N") return;
    if (event.ctrlKey || event.metaKey || event.altKey || !log.box) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    if (!matchItems().length) return;
    event.preventDefault();
    step(event.key === "n" ? 1 : -1);
  });

  function contextLine(kind, number, text, query) {
    const span = document.createElement("span");
    span.className = kind;
    span.dataset.n = String(number);
    if (query) appendMarked(span, text, query);
    else span.textContent = text;
    return span;
  }

  function matchItem(match, query) {
    const item = document.createElement("li");
    item.className = "match";
    item.dataset.offset = String(match.offset);
    item.dataset.number = String(match.number);
    const link = document.createElement("a");
    link.className = "match-link";
    link.href = "#";
    link.dataset.logJump = String(match.offset);
    link.dataset.line = String(match.number);
    link.textContent = `line ${match.number.toLocaleString("en")}`;
    const context = document.createElement("pre");
    context.className = "match-context";
    for (const c of match.before) context.append(contextLine("ctx", c.number, c.text, ""));
    const hit = contextLine("hit", match.number, "", "");
    for (const [text, marked] of match.parts) {
      if (!marked) hit.append(text);
      else {
        const mark = document.createElement("mark");
        mark.textContent = text;
        hit.append(mark);
      }
    }
    context.append(hit);
    for (const c of match.after) context.append(contextLine("ctx", c.number, c.text, ""));
    item.append(link, context);
    return item;
  }

  async function searchLog(event) {
    event.preventDefault();
    if (!log.box) return;
    const q = event.target.elements.q.value.trim();
    const results = log.results;
    results.hidden = !q;
    log.query = q;
    log.current = -1;
    if (!q) return;
    const head = document.createElement("div");
    head.className = "log-results-head";
    const summary = document.createElement("p");
    summary.className = "muted";
    const position = document.createElement("span");
    position.className = "muted";
    position.dataset.logPosition = "";
    position.setAttribute("aria-live", "polite");
    const buttons = [["Previous", "logPrev", "Previous match (N)"], ["Next", "logNext", "Next match (n)"]].map(
      ([label, key, title]) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-small-light";
        button.dataset[key] = "";
        button.title = title;
        button.textContent = label;
        return button;
      },
    );
    head.append(summary, position, ...buttons);
    const list = document.createElement("ol");
    list.className = "matches";
    results.replaceChildren(head, list);
    const searchUrl = `${log.box.dataset.searchUrl}&q=${encodeURIComponent(q)}`;
    let offset = 0;
    let line = 1;
    let found = 0;
    let size = 0;
    await busy(results, (async () => {
      for (let calls = 0; offset !== null && found < 200 && calls < 64; calls += 1) {
        summary.textContent = `Searching… ${formatSize(offset)}${size ? ` of ${formatSize(size)}` : ""}`;
        const response = await fetch(`${searchUrl}&offset=${offset}&line=${line}`, { credentials: "same-origin" });
        if (!response.ok) {
          summary.textContent = (await response.json()).message || "The search failed.";
          return;
        }
        const page = await response.json();
        for (const match of page.matches) list.append(matchItem(match, q));
        found += page.matches.length;
        offset = page.next_offset;
        line = page.next_line;
        size = page.size;
      }
      summary.textContent = `${found} line${found === 1 ? "" : "s"} match${found === 1 ? "es" : ""}${
        offset !== null ? " (stopped early; narrow the search)" : ""
      }.`;
    })());
    // The lines shown get the term marked too.
    render(log.pre.textContent, log.real ? log.first : 0);
  }

  // --- charts ------------------------------------------------------------------------------

  const PLOT_CONFIG = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  };

  function drawChart(figure, chart) {
    const plot = chart.querySelector(".plot");
    chart.classList.remove("loading");
    chart.dataset.reduced = figure.reduced ? "1" : "0";
    window.Plotly.react(plot, figure.data, window.studioTheme.apply(figure.layout), PLOT_CONFIG).then(() => {
      if (plot.dataset.bound) return;
      plot.dataset.bound = "1";
      plot.on("plotly_relayout", (change) => refine(chart, plot, change));
    });
  }

  async function refine(chart, plot, change) {
    const url = chart.dataset.chartUrl;
    if (!url || url.includes("x=time")) return;
    let range = "";
    if ("xaxis.range[0]" in change) {
      const lo = Math.floor(change["xaxis.range[0]"]);
      const hi = Math.ceil(change["xaxis.range[1]"]);
      range = `&lo=${lo}&hi=${hi}`;
    } else if (!change["xaxis.autorange"]) {
      return;
    }
    chart.dataset.range = range;
    chart.dataset.lo = change["xaxis.range[0]"] ?? "";
    chart.dataset.hi = change["xaxis.range[1]"] ?? "";
    await redraw(chart);
  }

  // Fetch the chart again (its zoom window, if any) and draw it in place.
  async function redraw(chart) {
    const url = chart.dataset.chartUrl;
    const range = chart.dataset.range || "";
    const response = await busy(chart, fetch(url + range, { credentials: "same-origin" }));
    if (!response.ok) return;
    const figure = await response.json();
    if (range) {
      const [lo, hi] = [Number(chart.dataset.lo), Number(chart.dataset.hi)];
      figure.layout.xaxis = { ...figure.layout.xaxis, range: [lo, hi], autorange: false };
    }
    drawChart(figure, chart);
  }

  // While the run is active its charts grow (live.js: studio:points). A chart of every
  // point by step, unsmoothed, gets the new points appended; any other (reduced to
  // buckets, smoothed, by time) is fetched again, at most every 2 s.
  const REDRAW_MS = 2000;

  function extendChart(chart, detail) {
    const plot = chart.querySelector(".js-plotly-plot");
    const params = new URL(chart.dataset.chartUrl, location.href).searchParams;
    if (!plot || !plot.data?.length || chart.dataset.reduced === "1") return false;
    if (params.get("x") !== "step" || Number(params.get("smooth")) !== 0) return false;
    const last = plot.data.length - 1;
    const xs = plot.data[last].x || [];
    const top = xs.length ? xs[xs.length - 1] : -Infinity;
    const keep = detail.steps.map((step, i) => i).filter((i) => detail.steps[i] > top);
    if (!keep.length) return true;
    const when = (t) => new Date(t * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
    window.Plotly.extendTraces(
      plot,
      {
        x: [keep.map((i) => detail.steps[i])],
        y: [keep.map((i) => detail.values[i])],
        customdata: [keep.map((i) => [detail.steps[i], when(detail.times[i])])],
      },
      [last],
    );
    if (plot.data[last].mode === "markers" && plot.data[last].x.length > 1) {
      window.Plotly.restyle(plot, { mode: "lines" }, [last]);
    }
    return true;
  }

  document.addEventListener("studio:points", (event) => {
    const detail = event.detail;
    if (!isThisRun(detail) || !window.Plotly) return;
    for (const chart of document.querySelectorAll("[data-chart][data-chart-url]")) {
      if (chart.dataset.name !== detail.name || !chart.querySelector(".js-plotly-plot")) continue;
      if (!detail.truncated && extendChart(chart, detail)) continue;
      if (chart.dataset.redrawPending) continue;
      chart.dataset.redrawPending = "1";
      setTimeout(async () => {
        delete chart.dataset.redrawPending;
        await redraw(chart);
      }, REDRAW_MS);
    }
  });

  function initCharts() {
    const charts = document.querySelectorAll("[data-chart]");
    if (!charts.length || !window.Plotly) return;
    const lazy = new IntersectionObserver(async (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        lazy.unobserve(entry.target);
        const response = await busy(entry.target, fetch(entry.target.dataset.chartUrl, { credentials: "same-origin" }));
        if (response.ok) drawChart(await response.json(), entry.target);
      }
    });
    for (const chart of charts) {
      const data = chart.dataset.figureId && document.getElementById(chart.dataset.figureId);
      if (data) {
        drawChart(JSON.parse(data.textContent), chart);
      } else if (chart.dataset.chartUrl) {
        chart.classList.add("loading");
        lazy.observe(chart);
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    initLog();
    initCharts();
  });
})();
