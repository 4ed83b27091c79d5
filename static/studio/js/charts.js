// The panel grid (window.StudioCharts): one plotly line chart per metric for many
// runs at once, on the runs list and on Compare. Data comes as compact JSON from
// /charts/series/ (studio/web/series.py); the config (runs, panels, options) from a
// json_script element. One HTML legend for every panel, a stable colour per run (by
// the run, not its place in the list), hover values in the legend, zoom linked
// across panels (and fetched again in detail), smoothing and log scale in the
// browser, add/remove panels, an eye toggle per table row, group bands, and live
// points from `studio:points` events. User text reaches plotly through `plotlyText`
// (escaped, as studio.web.charts.plotly_text does) and the page through textContent.
"use strict";

(() => {
  // Colour-blind-safe first, then more. A run's colour is its own (``c``, from the
  // server: runs made one after another differ), so it keeps it when the list is
  // sorted, filtered or a run is hidden.
  const PALETTE = [
    "#2f5bd3", "#d9730d", "#16803c", "#c0392b", "#7b4fbf", "#8c564b", "#c2408e", "#4d5663",
    "#9a8c00", "#138a9e", "#1b4f9c", "#b35806", "#2d9e5b", "#e0556a", "#5e3c99", "#a6761d",
    "#e7298a", "#666666", "#6a8f00", "#1f9fb4",
  ];
  const MAX_METRICS_PER_REQUEST = 10;
  const UNIFIED_HOVER_MAX = 12; // more runs than this: values in the legend only
  const BAND_MAX = 20; // more runs than this: a low-high stroke per bucket, no bands
  const PLOT_CONFIG = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  };
  const X_TITLES = { step: "step", rel: "time since start (s)", wall: "time" };

  const colourOf = (run) => PALETTE[(run.c ?? hash(run.id)) % PALETTE.length];
  function hash(text) {
    let h = 0;
    for (const ch of String(text)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return h;
  }
  const rgba = (hex, alpha) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return `rgba(${r},${g},${b},${alpha})`;
  };
  // What plotly shows as typed: it reads a few tags in names and titles.
  const plotlyText = (text) =>
    String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" })[c]);
  const fmt = (v) => (v === null || v === undefined || Number.isNaN(v) ? "—" : Number(v.toPrecision(4)).toString());

  // --- the compact number codes (studio/web/series.py `code`) ----------------------
  function decode(c) {
    const s = c.s;
    const out = [];
    let acc = 0;
    if (c.d !== undefined) {
      for (let i = 0; i < c.n; i++) out.push((c.a + i * c.d) * s);
      acc = c.a + (c.n - 1) * c.d;
    }
    for (const d of c.v || []) {
      if (d === null) out.push(null);
      else { acc += d; out.push(acc * s); }
    }
    return out;
  }

  function decodeSeries(s) {
    const x = decode(s.x);
    const lo = decode(s.lo);
    const step = s.lo.s;
    const hi = s.w ? lo.map((v, i) => (v === null || s.w[i] === null ? null : v + s.w[i] * step)) : lo;
    const mid = lo.map((v, i) => (v === null || hi[i] === null ? null : (v + hi[i]) / 2));
    return { x, lo, hi, mid, reduced: Boolean(s.w), total: s.n };
  }

  // --- smoothing (in the browser, no reload) ---------------------------------------
  function ema(values, weight) {
    const out = [];
    let last = 0, count = 0;
    for (const v of values) {
      if (v === null) { out.push(null); continue; }
      last = last * weight + (1 - weight) * v;
      count += 1;
      out.push(last / (1 - weight ** count)); // debiased: the first points are not dragged to 0
    }
    return out;
  }

  function runningAverage(values, size) {
    const out = [];
    const window = [];
    let sum = 0;
    for (const v of values) {
      if (v === null) { out.push(null); continue; }
      window.push(v);
      sum += v;
      if (window.length > size) sum -= window.shift();
      out.push(sum / window.length);
    }
    return out;
  }

  function smooth(values, spec) {
    const [kind, amount] = String(spec || "").split(":");
    const n = Number(amount);
    if (kind === "ema" && n > 0 && n < 1) return ema(values, n);
    if (kind === "avg" && n >= 2) return runningAverage(values, Math.round(n));
    return values;
  }

  // The value of a series at x (the last point at or before it), for the legend.
  function valueAt(xs, ys, x) {
    let lo = 0, hi = xs.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] <= x) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found < 0 ? null : ys[found];
  }

  // --- one grid -----------------------------------------------------------------------
  class Grid {
    constructor(root, config) {
      this.root = root;
      this.config = config;
      this.options = { ...config.options };
      this.panels = [...config.panels];
      this.runs = [...config.runs];
      this.hidden = new Set();
      this.data = null; // {metric: {runId: decoded}} or groups
      this.groups = null;
      this.range = null;
      this.legend = root.querySelector("[data-panels-legend]");
      this.grid = root.querySelector("[data-panels-grid]");
      this.status = root.querySelector("[data-panels-status]");
      this.csrf = root.querySelector("[data-csrf]")?.value || "";
      this.linking = false;
      this.form = root.querySelector("form.panels-bar");
    }

    start() {
      this.bindControls();
      this.bindTable();
      document.addEventListener("studio:points", (event) => this.livePoints(event.detail));
      return this.load();
    }

    visibleRuns() { return this.runs.filter((r) => !this.hidden.has(r.id)); }

    // POST (200 run ids outgrow a URL), at most 10 metrics a request.
    async fetchSeries(metrics, runs) {
      const out = [];
      for (let i = 0; i < metrics.length; i += MAX_METRICS_PER_REQUEST) {
        const body = new URLSearchParams();
        body.set("runs", runs.map((r) => r.id).join(","));
        for (const m of metrics.slice(i, i + MAX_METRICS_PER_REQUEST)) body.append("metric", m);
        body.set("x", this.options.x);
        if (this.config.group) body.set("group", this.config.group);
        if (this.range) body.set("range", `${Math.floor(this.range[0])},${Math.ceil(this.range[1])}`);
        const response = await fetch(this.config.endpoint, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": this.csrf, "Content-Type": "application/x-www-form-urlencoded" },
          body,
        });
        const payload = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(payload.error || `The charts could not be loaded (${response.status}).`);
        out.push(payload);
      }
      return out;
    }

    async load() {
      const runs = this.config.group ? this.visibleRuns() : this.runs;
      if (!this.panels.length || !runs.length) {
        this.data = {};
        this.render();
        return;
      }
      this.setStatus("Loading charts…");
      // The first panel's series first, so it is drawn while the others load.
      const loading = (this.loading = {});
      const batches = this.panels.length > 1 ? [this.panels.slice(0, 1), this.panels.slice(1)] : [this.panels];
      this.data = {};
      this.groups = null;
      const requests = batches.map((batch) => window.Studio.busy(this.root, this.fetchSeries(batch, runs)));
      for (const request of requests) request.catch(() => {}); // reported below, in order
      for (const [i, batch] of batches.entries()) {
        let payloads;
        try {
          payloads = await requests[i];
        } catch (error) {
          this.setStatus(error.message);
          return;
        }
        if (this.loading !== loading) return; // a newer load took over
        this.absorb(payloads);
        if (i === batches.length - 1) this.setStatus("");
        await this.render(batch);
      }
    }

    absorb(payloads) {
      for (const payload of payloads) {
        if (payload.groups) {
          this.groups = payload.groups.map((g, i) => ({
            ...g,
            label: g.value === null ? "(none)" : g.value,
            colour: PALETTE[i % PALETTE.length],
            members: g.runs.map((r) => payload.runs[r].id),
          }));
          this.groupsOmitted = payload.groups_omitted;
          for (const band of payload.bands) {
            const metric = payload.metrics[band.m];
            this.data[metric] ??= {};
            this.data[metric][band.g] = {
              x: decode(band.x), mean: decode(band.mean), std: decode(band.std),
              min: decode(band.min), max: decode(band.max), count: band.count,
            };
          }
        } else {
          for (const run of payload.runs) {
            const known = this.runs.find((r) => r.id === run.id);
            if (known) known.c = run.c;
          }
          for (const s of payload.series) {
            const metric = payload.metrics[s.m];
            this.data[metric] ??= {};
            this.data[metric][payload.runs[s.r].id] = decodeSeries(s);
          }
        }
      }
    }

    setStatus(text) { if (this.status) this.status.textContent = text; }

    // --- drawing -------------------------------------------------------------------
    // Draw the panels of ``only`` (default: all), in order.
    render(only) {
      this.renderLegend();
      const wanted = new Set(this.panels);
      for (const panel of [...this.grid.querySelectorAll("[data-panel]")]) {
        if (!wanted.has(panel.dataset.panel)) { window.Plotly?.purge(panel.querySelector(".plot")); panel.remove(); }
      }
      // In the order of this.panels; drawn one after the other, the browser painting
      // each as it is done (the first shows while the others are drawn).
      for (const metric of this.panels) this.grid.append(this.panelFor(metric));
      if (!this.panels.length) this.setStatus("No panels: add one for a metric above.");
      const drawing = (this.drawing = {});
      return (async () => {
        await plotlyReady;
        for (const metric of only || this.panels) {
          if (this.drawing !== drawing) return; // a newer render took over
          await this.drawPanel(metric);
          await new Promise((resolve) => setTimeout(resolve));
        }
      })();
    }

    panelFor(metric) {
      let panel = [...this.grid.children].find((p) => p.dataset.panel === metric);
      if (panel) return panel;
      panel = document.createElement("figure");
      panel.className = "chart panel";
      panel.dataset.panel = metric;
      const head = document.createElement("figcaption");
      const title = document.createElement("span");
      title.textContent = metric;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn-icon";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove the panel ${metric}`);
      remove.title = "Remove this panel";
      remove.addEventListener("click", () => this.removePanel(metric));
      head.append(title, remove);
      const plot = document.createElement("div");
      plot.className = "plot"; // plotly's own controls inside: no role="img" around them
      panel.setAttribute("aria-label", `Chart of ${metric}`);
      panel.append(head, plot);
      this.grid.append(panel);
      return panel;
    }

    layout(metric) {
      const axis = { zeroline: false, automargin: true };
      const xKey = this.options.x;
      const xTitle = X_TITLES[xKey] || (xKey.startsWith("metric:") ? xKey.slice(7) : xKey);
      const visible = this.groups ? this.groups.length : this.visibleRuns().length;
      const layout = {
        height: this.panelFor(metric).querySelector(".plot").clientHeight || 280,
        margin: { l: 56, r: 12, t: 10, b: 44 },
        showlegend: false,
        hovermode: visible <= UNIFIED_HOVER_MAX ? "x unified" : "x",
        font: { family: "system-ui, sans-serif", size: 11 },
        xaxis: { ...axis, title: { text: plotlyText(xTitle) }, type: xKey === "wall" ? "date" : "linear" },
        yaxis: { ...axis, title: { text: plotlyText(metric) }, type: this.options.log ? "log" : "linear" },
        uirevision: "panels",
      };
      if (this.range) layout.xaxis.range = [...this.range];
      return window.studioTheme.apply(layout);  // colours from the CSS theme
    }

    xs(values) { return this.options.x === "wall" ? values.map((v) => (v === null ? null : v * 1000)) : values; }

    traces(metric) {
      const byKey = (this.data && this.data[metric]) || {};
      const many = this.visibleRuns().length > UNIFIED_HOVER_MAX;
      const crowded = this.visibleRuns().length > BAND_MAX;
      const traces = [];
      if (this.groups) {
        this.groups.forEach((group, g) => {
          const d = byKey[g];
          if (!d) return;
          const x = this.xs(d.x);
          const [low, high] = this.options.band === "std"
            ? [d.mean.map((m, i) => (m === null ? null : m - d.std[i])), d.mean.map((m, i) => (m === null ? null : m + d.std[i]))]
            : [d.min, d.max];
          traces.push({
            type: "scatter", mode: "lines", x: [...x, ...[...x].reverse()], y: [...high, ...[...low].reverse()],
            fill: "toself", fillcolor: rgba(group.colour, 0.18), line: { width: 0, color: group.colour },
            hoverinfo: "skip", showlegend: false, meta: { band: g },
          });
          traces.push({
            type: "scatter", mode: x.length > 1 ? "lines" : "markers", x, y: smooth(d.mean, this.options.smooth),
            name: plotlyText(`${group.label} (mean of ${group.runs.length})`),
            line: { color: group.colour, width: 2 }, marker: { color: group.colour, size: 6 },
            hovertemplate: "%{y:.4g}<extra>%{fullData.name}</extra>", meta: { group: g },
          });
        });
        return traces;
      }
      for (const run of this.runs) {
        const d = byKey[run.id];
        if (!d) continue;
        const colour = colourOf(run);
        const x = this.xs(d.x);
        const visible = !this.hidden.has(run.id);
        if (d.reduced && crowded && !this.options.smooth) {
          // Many runs: one trace each, a stroke from each bucket's low to its high
          // (every peak drawn) instead of a band and a line.
          const zx = [], zy = [];
          d.lo.forEach((lo, i) => { zx.push(x[i], x[i]); zy.push(lo, d.hi[i]); });
          traces.push({
            type: "scatter", mode: "lines", x: zx, y: zy, visible, name: plotlyText(run.label),
            line: { color: colour, width: 1 }, hoverinfo: "none", meta: { run: run.id },
          });
          continue;
        }
        if (d.reduced) {
          traces.push({
            type: "scatter", mode: "lines", x: [...x, ...[...x].reverse()], y: [...d.hi, ...[...d.lo].reverse()],
            fill: "toself", fillcolor: rgba(colour, 0.16), line: { width: 0, color: colour },
            hoverinfo: "skip", showlegend: false, visible, meta: { run: run.id, band: true },
          });
        }
        const y = smooth(d.mid, this.options.smooth);
        traces.push({
          type: "scatter", mode: x.length > 1 ? "lines" : "markers", x, y, visible,
          name: plotlyText(run.label),
          line: { color: colour, width: 1.5 }, marker: { color: colour, size: 6 },
          hovertemplate: many ? undefined : "%{y:.4g}<extra>%{fullData.name}</extra>",
          hoverinfo: many ? "none" : undefined,
          meta: { run: run.id },
        });
      }
      return traces;
    }

    drawPanel(metric) {
      if (!window.Plotly) return Promise.resolve();
      const panel = this.panelFor(metric);
      const plot = panel.querySelector(".plot");
      const traces = this.traces(metric);
      panel.classList.toggle("empty-panel", traces.length === 0);
      plot.dataset.empty = traces.length ? "" : "No run of these logged this metric.";
      return window.Plotly.react(plot, traces, this.layout(metric), PLOT_CONFIG).then(() => {
        panel.dataset.drawn = String(traces.filter((t) => t.meta && t.meta.band === undefined && t.visible !== false).length);
        // For bench/workspace.py: time from navigation to the first panel drawn.
        if (traces.length && !performance.getEntriesByName("studio:first-panel").length) {
          performance.mark("studio:first-panel");
        }
        if (plot.dataset.bound) return;
        plot.dataset.bound = "1";
        plot.on("plotly_relayout", (change) => this.linkZoom(metric, change));
        plot.on("plotly_hover", (event) => this.showValues(metric, event));
        plot.on("plotly_unhover", () => this.showValues(metric, null));
      });
    }

    // Zoom on one panel zooms them all, then fetches that step range in detail.
    linkZoom(source, change) {
      if (this.linking) return;
      let range = null;
      if ("xaxis.range[0]" in change) range = [change["xaxis.range[0]"], change["xaxis.range[1]"]];
      else if (Array.isArray(change["xaxis.range"])) range = change["xaxis.range"];
      else if (!change["xaxis.autorange"]) return;
      this.linking = true;
      const updates = this.panels
        .filter((m) => m !== source && this.panelFor(m).querySelector(".plot").data)
        .map((m) => {
          const plot = this.panelFor(m).querySelector(".plot");
          return window.Plotly.relayout(plot, range ? { "xaxis.range": range } : { "xaxis.autorange": true });
        });
      Promise.all(updates).finally(() => { this.linking = false; });
      if (this.options.x === "step" && !this.config.group) {
        clearTimeout(this.zoomTimer);
        this.zoomTimer = setTimeout(() => {
          this.range = range;
          this.load();
        }, 250);
      }
    }

    // The legend shows every run's value at the hovered x.
    showValues(metric, event) {
      const point = event?.points?.[0];
      const x = point ? (this.options.x === "wall" ? new Date(point.x).getTime() / 1000 : point.x) : null;
      for (const cell of this.legend.querySelectorAll("[data-value]")) {
        if (x === null) { cell.textContent = ""; continue; }
        const key = cell.dataset.value;
        const d = this.data?.[metric]?.[key];
        if (!d) { cell.textContent = "—"; continue; }
        const ys = this.groups ? smooth(d.mean, this.options.smooth) : smooth(d.mid, this.options.smooth);
        cell.textContent = fmt(valueAt(this.xs(d.x).map((v) => (this.options.x === "wall" ? v / 1000 : v)), ys, x));
      }
      const head = this.legend.querySelector("[data-value-head]");
      if (head) head.textContent = x === null ? "" : `${metric} at ${this.options.x === "wall" ? new Date(x * 1000).toISOString().slice(0, 19).replace("T", " ") : fmt(x)}`;
    }

    renderLegend() {
      const list = document.createElement("ul");
      list.className = "legend-list";
      const items = this.groups
        ? this.groups.map((g, i) => ({ key: String(i), label: `${g.label} · ${g.runs.length} run${g.runs.length === 1 ? "" : "s"}`, colour: g.colour, hidden: false }))
        : this.runs.map((r) => ({ key: r.id, label: r.label, colour: colourOf(r), hidden: this.hidden.has(r.id), run: r }));
      for (const item of items) {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "legend-item";
        button.setAttribute("aria-pressed", String(!item.hidden));
        button.dataset.key = item.key;
        const swatch = document.createElement("span");
        swatch.className = "legend-swatch";
        swatch.style.background = item.colour;
        const label = document.createElement("span");
        label.className = "legend-label";
        label.textContent = item.label;
        const value = document.createElement("span");
        value.className = "legend-value";
        value.dataset.value = item.key;
        button.append(swatch, label, value);
        if (item.run) {
          // The run's description (its first lines) as the tooltip, when it has one.
          if (item.run.desc) button.dataset.description = "";
          button.title = item.run.desc
            ? `${item.label}\n${item.run.desc}\n\nClick to hide or show in every chart`
            : `${item.label}: click to hide or show in every chart`;
          button.addEventListener("click", () => this.toggleRun(item.key));
        } else {
          button.disabled = true;
        }
        li.append(button);
        list.append(li);
      }
      const head = document.createElement("p");
      head.className = "legend-head";
      const count = document.createElement("span");
      count.textContent = this.groups
        ? `${this.groups.length} group${this.groups.length === 1 ? "" : "s"} by ${this.config.group}, ${this.options.band === "std" ? "mean ± std" : "min – max"} band${this.groupsOmitted ? ` (${this.groupsOmitted} more groups not drawn)` : ""}`
        : `${this.visibleRuns().length} of ${this.runs.length} runs charted`;
      const values = document.createElement("span");
      values.className = "muted";
      values.dataset.valueHead = "";
      head.append(count, " ", values);
      this.legend.replaceChildren(head, list);
      this.syncEyes();
    }

    // --- changes -------------------------------------------------------------------
    toggleRun(id) {
      if (this.hidden.has(id)) this.hidden.delete(id); else this.hidden.add(id);
      if (this.config.group) { this.load(); this.syncEyes(); return; }
      this.renderLegend();
      for (const metric of this.panels) this.drawPanel(metric);
    }

    async showRun(run) {
      if (this.runs.some((r) => r.id === run.id)) return this.toggleRun(run.id);
      this.runs.push(run);
      return this.load();
    }

    removePanel(metric) {
      this.panels = this.panels.filter((m) => m !== metric);
      this.saveState();
      this.render();
    }

    addPanel(metric) {
      metric = metric.trim();
      if (!metric || this.panels.includes(metric)) return;
      if (this.panels.length >= 10) { this.setStatus("At most 10 panels."); return; }
      this.panels.push(metric);
      this.saveState();
      this.load();
    }

    setOption(key, value) {
      this.options[key] = value;
      this.saveState();
      if (key === "x") { this.range = null; return this.load(); }
      if (key === "top") return this.reloadPage();
      if (key === "diff") return this.applyDiff();
      this.render();
    }

    reloadPage() { location.assign(this.stateUrl().href); }

    applyDiff() {
      const differs = new Set(this.config.differs || []);
      const all = this.config.all_panels || this.config.panels;
      this.panels = this.options.diff ? all.filter((m) => differs.has(m)) : [...all];
      this.load();
    }

    // The panels and options are part of the list state: the URL (replaced, no
    // reload) and the "Save view" form follow them.
    stateUrl() {
      const url = new URL(location.href);
      const params = url.searchParams;
      for (const key of ["panel", "chart", "cx", "smooth", "log", "band", "top", "diff"]) params.delete(key);
      if (!this.config.compare) for (const m of this.panels) params.append("panel", m);
      const o = this.options;
      if (o.x !== "step") params.set("cx", o.x);
      if (o.smooth) params.set("smooth", o.smooth);
      if (o.log) params.set("log", "1");
      if (o.band && o.band !== "minmax") params.set("band", o.band);
      if (!this.config.compare && Number(o.top) !== 20) params.set("top", String(o.top));
      if (this.config.compare && o.diff) params.set("diff", "1");
      return url;
    }

    saveState() {
      const url = this.stateUrl();
      history.replaceState(history.state, "", url);
      const saved = document.querySelector('form[action] input[name="state"]');
      if (saved) {
        const state = new URLSearchParams(url.search);
        for (const key of ["ws", "after", "before", "all"]) state.delete(key);
        saved.value = state.toString();
      }
    }

    bindControls() {
      if (!this.form) return;
      this.form.addEventListener("change", (event) => {
        const field = event.target.closest("[data-chart-option]");
        if (!field) return;
        const key = field.dataset.chartOption;
        const value = field.type === "checkbox" ? field.checked : field.value;
        this.setOption(key, key === "top" ? Number(value) : value);
      });
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        const input = this.form.querySelector("[data-panel-add]");
        this.addPanel(input.value);
        input.value = "";
      });
    }

    // An eye button in each row of the runs table: hide a charted run from every
    // chart, or chart one that is not.
    bindTable() {
      const table = document.querySelector("table.runs.list");
      if (!table || this.config.compare) return;
      table.classList.add("has-eyes"); // a wider first column holds the eye
      const add = (row) => {
        const cell = row.querySelector("td.sel");
        if (!cell || cell.querySelector(".eye")) return;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "eye";
        button.dataset.eye = row.dataset.runId;
        button.addEventListener("click", () => {
          const id = row.dataset.runId;
          const known = this.runs.find((r) => r.id === id);
          if (known) return this.toggleRun(id);
          const label = row.querySelector(".name-cell a, td a")?.textContent.trim() || id;
          this.showRun({ id, label });
        });
        cell.append(button);
      };
      for (const row of table.querySelectorAll("tr[data-run-id]")) add(row);
      // Rows a parent's expander adds get their eye too (rows only: the buttons
      // this changes must not wake the observer again).
      const rows = new MutationObserver(() => {
        for (const row of table.querySelectorAll("tr[data-run-id]")) add(row);
        this.syncEyes();
      });
      for (const body of table.tBodies) rows.observe(body, { childList: true });
      this.syncEyes();
    }

    syncEyes() {
      for (const button of document.querySelectorAll("button.eye[data-eye]")) {
        const id = button.dataset.eye;
        const charted = this.runs.some((r) => r.id === id) && !this.hidden.has(id);
        if (button.getAttribute("aria-pressed") === String(charted)) continue;
        button.setAttribute("aria-pressed", String(charted));
        button.textContent = charted ? "◉" : "○";
        const name = button.closest("tr")?.querySelector("input[name=run]")?.getAttribute("aria-label")?.replace(/^Select /, "") || id;
        button.setAttribute("aria-label", `${charted ? "Hide" : "Show"} ${name} ${charted ? "from" : "in"} the charts`);
        button.title = charted ? "Shown in the charts: click to hide" : "Not in the charts: click to show";
      }
    }

    // Live points (live.js): extend that run's line if its metric is drawn.
    livePoints(detail) {
      if (!detail || this.groups || this.range) return;
      const d = this.data?.[detail.name]?.[detail.run_id];
      if (!d || !this.panels.includes(detail.name)) return;
      const o = this.options.x;
      if (o !== "step" && o !== "wall" && o !== "rel") return;
      const origin = o === "rel" ? (d.origin ??= (detail.times?.[0] ?? 0) - (d.x[d.x.length - 1] ?? 0)) : 0;
      detail.steps.forEach((step, i) => {
        const x = o === "step" ? step : (detail.times[i] - origin);
        if (d.x.length && x <= d.x[d.x.length - 1]) return; // already drawn
        const v = detail.values[i];
        d.x.push(x); d.lo.push(v); d.hi.push(v); d.mid.push(v);
      });
      cancelAnimationFrame(this.liveFrame);
      this.liveFrame = requestAnimationFrame(() => this.drawPanel(detail.name));
    }
  }

  const instances = [];

  function mount(root, config) {
    const grid = new Grid(root, config);
    instances.push(grid);
    grid.ready = grid.start();
    return grid;
  }

  window.StudioCharts = { mount, decode, decodeSeries, smooth, colourOf, plotlyText, instances };

  // This deferred script comes before plotly.js: the series are fetched while
  // plotly.js is parsed, and drawn once it is there (DOMContentLoaded).
  const plotlyReady = new Promise((resolve) => {
    const ready = () => (window.Plotly ? resolve() : null);
    if (document.readyState === "complete") ready();
    else document.addEventListener("DOMContentLoaded", ready);
  });
  const start = () => {
    for (const root of document.querySelectorAll("[data-panels]")) {
      const config = document.getElementById(root.dataset.panels);
      if (config) mount(root, JSON.parse(config.textContent));
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
