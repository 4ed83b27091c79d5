// Runs lists: group rows that open in place, and the sweep panels (parallel
// coordinates and scatter, plotly SVG) whose brushed ranges narrow the list. A brush
// becomes a condition of the filter language added to the search filter, and the
// page opens that link: the narrowed list is a URL (and a saved view) like any
// other. Progressive: without this file a group's name links to its own list.
// Server HTML is parsed with DOMParser and moved in as nodes; user text reaches
// the page through textContent only, and plotly through the server's plotly_text.
"use strict";

(() => {
  // --- group rows ----------------------------------------------------------------------
  function removeGroupRows(key) {
    for (const row of document.querySelectorAll(`tr[data-in-group="${CSS.escape(key)}"]`)) row.remove();
  }

  async function openGroup(toggle) {
    const row = toggle.closest("tr");
    const key = row.dataset.group;
    const url = toggle.dataset.groupRows;
    const response = await window.Studio.busy(
      toggle,
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } }),
    );
    if (!response.ok) throw new Error(`${response.status} ${url}`);
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const rows = [...doc.querySelectorAll("table.runs.list tbody > tr[data-run-id]")];
    removeGroupRows(key);
    let anchor = row;
    for (const fresh of rows) {
      const node = document.importNode(fresh, true);
      node.dataset.inGroup = key;
      node.classList.add("in-group");
      anchor.after(node);
      anchor = node;
    }
    const count = Number(row.dataset.count);
    if (rows.length < count) {
      const more = document.createElement("tr");
      more.dataset.inGroup = key;
      more.className = "more-row in-group";
      const cell = document.createElement("td");
      cell.colSpan = row.closest("table").querySelectorAll("thead th").length;
      const link = document.createElement("a");
      link.href = url;
      link.textContent = `Showing ${rows.length} of ${count} runs: open the group as its own list`;
      cell.append(link);
      more.append(cell);
      anchor.after(more);
    }
  }

  function setupGroups() {
    document.addEventListener("click", async (event) => {
      const toggle = event.target.closest("button.group-toggle[data-group-rows]");
      if (!toggle) return;
      event.preventDefault();
      if (toggle.getAttribute("aria-expanded") === "true") {
        removeGroupRows(toggle.closest("tr").dataset.group);
        toggle.setAttribute("aria-expanded", "false");
        return;
      }
      toggle.setAttribute("aria-busy", "true");
      try {
        await openGroup(toggle);
        toggle.setAttribute("aria-expanded", "true");
      } catch (error) {
        // The server is away for a moment: the group stays closed; its link still works.
      } finally {
        toggle.removeAttribute("aria-busy");
      }
    });
  }

  // --- brushed ranges as filter conditions ----------------------------------------------
  const quote = (text) => `'${String(text).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

  // A bound rounded outward to 4 significant digits, so the link stays readable and
  // every run inside the brushed range stays inside the condition.
  function outward(value, down) {
    if (value === 0 || !Number.isFinite(value)) return String(value);
    const step = 10 ** (Math.floor(Math.log10(Math.abs(value))) - 3);
    const rounded = (down ? Math.floor(value / step) : Math.ceil(value / step)) * step;
    return String(Number(rounded.toPrecision(4)));
  }

  // [lo, hi] or [[lo, hi], ...] (plotly's constraintrange) -> [[lo, hi], ...]
  const ranges = (range) => (Array.isArray(range[0]) ? range : [range]);

  function condition(dim, brushed) {
    const parts = [];
    if (dim.kind === "number") {
      for (const [lo, hi] of ranges(brushed)) {
        parts.push(`${dim.field} >= ${outward(lo, true)} and ${dim.field} <= ${outward(hi, false)}`);
      }
    } else {
      const chosen = new Set();
      for (const [lo, hi] of ranges(brushed)) {
        for (let code = Math.ceil(lo); code <= Math.floor(hi); code += 1) chosen.add(code);
      }
      const names = [...chosen].filter((c) => c !== dim.none && c < dim.categories.length);
      if (names.length) parts.push(`${dim.field} in (${names.map((c) => quote(dim.categories[c])).join(", ")})`);
      if (chosen.has(dim.none)) parts.push(`not has ${dim.field}`);
    }
    if (!parts.length) return null; // the range holds no category: nothing to say
    return parts.length > 1 ? `(${parts.join(" or ")})` : parts[0];
  }

  function narrow(sweep, found) {
    const conditions = found.filter(Boolean);
    if (!conditions.length) return;
    const added = conditions.join(" and ");
    const current = sweep.filter.trim();
    const params = new URLSearchParams(sweep.pairs);
    params.set("q", current ? `(${current}) and ${added}` : added);
    window.location.assign(`${sweep.path}?${params}`);
  }

  // --- panels ----------------------------------------------------------------------------
  // Parallel coordinates drawn as SVG with plotly's "scatter": plotly's "parcoords"
  // compiles its WebGL shaders with eval(), which the studio's CSP refuses (no
  // 'unsafe-eval'). Each axis stands at x = 0, 1, 2 ...; values are scaled to 0..1 on
  // it (categories evenly spaced); each run is one line across the axes. Selecting a
  // box over part of an axis is the brush.
  const COLOURS = ["#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#e7c41f"];

  // Positive values over more than a factor of 20 (a learning rate, a weight decay)
  // read better on a log scale.
  function isLog(values) {
    const present = values.filter((v) => v !== null && v !== undefined);
    if (!present.length || present.some((v) => !(v > 0))) return false;
    return Math.max(...present) / Math.min(...present) >= 20;
  }

  function scaler(dim, rows) {
    if (dim.kind === "category") {
      const top = Math.max(dim.ticktext.length - 1, 1);
      return { to: (v) => (dim.ticktext.length === 1 ? 0.5 : v / top), from: (y) => y * top };
    }
    const values = rows.map((r) => dim.values[r]);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    if (isLog(values)) {
      const [a, b] = [Math.log(lo), Math.log(hi)];
      return { lo, hi, to: (v) => (Math.log(v) - a) / (b - a), from: (y) => Math.exp(a + y * (b - a)) };
    }
    const span = hi - lo;
    return {
      lo, hi,
      to: (v) => (span ? (v - lo) / span : 0.5),
      from: (y) => (span ? lo + y * span : lo),
    };
  }

  const short = (v) => String(Number(Number(v).toPrecision(4)));

  function parcoords(box, sweep, note) {
    const dims = sweep.parcoords.map((i) => sweep.dims[i]);
    // A line needs a value on every axis: runs missing a number are left out (and counted).
    const rows = sweep.ids.map((_, r) => r).filter((r) => dims.every((d) => d.values[r] !== null && d.values[r] !== undefined));
    const left = sweep.ids.length - rows.length;
    if (left) note.push(`${left} run${left === 1 ? "" : "s"} without a value on every axis ${left === 1 ? "is" : "are"} not drawn.`);
    if (!rows.length) return;
    const scales = dims.map((d) => scaler(d, rows));
    // Lines coloured by the last numeric axis (a metric, usually), in 8 bands.
    const by = [...dims.keys()].reverse().find((i) => dims[i].kind === "number");
    const band = (r) => (by === undefined ? 3 : Math.min(7, Math.floor(scales[by].to(dims[by].values[r]) * 8)));
    const traces = COLOURS.map((colour) => ({
      type: "scatter", mode: "lines+markers", x: [], y: [], text: [], customdata: [],
      line: { color: colour, width: 1.2 }, marker: { color: colour, size: 4 }, opacity: 0.7,
      hovertemplate: "%{text}<extra></extra>", showlegend: false,
    }));
    for (const r of rows) {
      const trace = traces[band(r)];
      dims.forEach((d, i) => {
        trace.x.push(i);
        trace.y.push(scales[i].to(d.values[r]));
        trace.text.push(sweep.names[r]);
        trace.customdata.push(r);
      });
      trace.x.push(null); trace.y.push(null); trace.text.push(""); trace.customdata.push(null);
    }
    const annotations = [];
    const shapes = [];
    dims.forEach((d, i) => {
      shapes.push({ type: "line", x0: i, x1: i, y0: 0, y1: 1, line: { color: "#8a93a3", width: 1.5 } });
      annotations.push({ x: i, y: 1, yref: "paper", yshift: 8, text: d.label, showarrow: false, yanchor: "bottom", font: { size: 12 } });
      const ticks = d.kind === "category"
        ? d.ticktext.map((text, code) => [scales[i].to(code), text])
        : [[0, short(scales[i].lo)], [0.5, short(scales[i].from(0.5))], [1, short(scales[i].hi)]];
      for (const [y, text] of ticks) {
        annotations.push({ x: i, y, text, showarrow: false, xanchor: "right", xshift: -4, font: { size: 10 } });
      }
    });
    const layout = {
      height: 340,
      margin: { l: 70, r: 24, t: 40, b: 16 },
      font: { size: 11 },
      dragmode: "select",
      hovermode: "closest",
      xaxis: { visible: false, range: [-0.6, dims.length - 0.6], fixedrange: true },
      yaxis: { visible: false, range: [-0.04, 1.04], fixedrange: true },
      shapes,
      annotations,
    };
    window.studioTheme.apply(layout);
    window.Plotly.newPlot(box, traces, layout, { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["zoom2d", "pan2d", "autoScale2d", "resetScale2d"] });
    box.dataset.axes = String(dims.length);
    box.on("plotly_selected", (event) => {
      if (!event) return;
      const conditions = [];
      dims.forEach((d, i) => {
        let lo = null;
        let hi = null;
        if (event.range) {
          const [x0, x1] = event.range.x;
          if (i < Math.min(x0, x1) || i > Math.max(x0, x1)) return;
          [lo, hi] = [Math.min(...event.range.y), Math.max(...event.range.y)];
        } else {
          const ys = (event.points || []).filter((p) => p.x === i).map((p) => p.y);
          if (!ys.length) return;
          [lo, hi] = [Math.min(...ys), Math.max(...ys)];
        }
        lo = Math.max(lo, 0);
        hi = Math.min(hi, 1);
        if (lo > hi) return;
        conditions.push(condition(d, [[scales[i].from(lo), scales[i].from(hi)]]));
      });
      narrow(sweep, conditions);
    });
  }

  function axis(dim) {
    const title = { text: dim.label };
    if (dim.kind === "number") return { title, automargin: true, type: isLog(dim.values) ? "log" : "linear" };
    return { title, automargin: true, tickvals: dim.ticktext.map((_, i) => i), ticktext: dim.ticktext, range: [-0.5, dim.ticktext.length - 0.5] };
  }

  function scatter(box, sweep) {
    const [x, y] = sweep.scatter.map((i) => sweep.dims[i]);
    const trace = {
      type: "scatter",
      mode: "markers",
      x: x.values,
      y: y.values,
      text: sweep.names,
      customdata: sweep.ids,
      hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>",
      marker: { size: 7, color: "#2f6fde", opacity: 0.75 },
    };
    const layout = {
      height: 340,
      margin: { l: 60, r: 16, t: 16, b: 48 },
      font: { size: 11 },
      dragmode: "select",
      xaxis: axis(x),
      yaxis: axis(y),
    };
    window.Plotly.newPlot(box, [trace], window.studioTheme.apply(layout), { displaylogo: false, responsive: true });
    box.on("plotly_selected", (event) => {
      if (!event) return;
      let xr = event.range?.x;
      let yr = event.range?.y;
      if (!xr && event.points?.length) {
        // A lasso: its points' bounding box, the part the filter language can say.
        const xs = event.points.map((p) => p.x);
        const ys = event.points.map((p) => p.y);
        xr = [Math.min(...xs), Math.max(...xs)];
        yr = [Math.min(...ys), Math.max(...ys)];
      }
      if (!xr) return;
      narrow(sweep, [condition(x, [xr.map(Number)]), condition(y, [yr.map(Number)])]);
    });
  }

  function drawSweep() {
    const data = document.getElementById("sweep-data");
    if (!data || !window.Plotly) return;
    const sweep = JSON.parse(data.textContent);
    const note = [];
    const pc = document.getElementById("sweep-parcoords");
    if (pc && sweep.parcoords.length) parcoords(pc, sweep, note);
    const sc = document.getElementById("sweep-scatter");
    if (sc && sweep.scatter.length === 2) scatter(sc, sweep);
    const out = document.querySelector("[data-sweep-note]");
    if (out) out.textContent = note.join(" ");
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupGroups();
    drawSweep();
  });
})();
