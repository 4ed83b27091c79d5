// Runs lists: group rows that open in place, and the sweep panels (parallel
// coordinates and scatter, plotly) whose brushed ranges narrow the list. A brush
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
    const response = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
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
  function parcoords(box, sweep, note) {
    const dims = sweep.parcoords.map((i) => sweep.dims[i]);
    // A line needs a value on every axis: runs missing a number are left out (and counted).
    const keep = sweep.ids.map((_, r) => dims.every((d) => d.values[r] !== null && d.values[r] !== undefined));
    const rows = keep.map((k, r) => (k ? r : -1)).filter((r) => r >= 0);
    const left = sweep.ids.length - rows.length;
    if (left) note.push(`${left} run${left === 1 ? "" : "s"} without a value on every axis ${left === 1 ? "is" : "are"} not drawn.`);
    const colour = [...dims].reverse().find((d) => d.kind === "number");
    const trace = {
      type: "parcoords",
      dimensions: dims.map((d) => {
        const values = rows.map((r) => d.values[r]);
        if (d.kind === "number") return { label: d.label, values };
        return { label: d.label, values, tickvals: d.ticktext.map((_, i) => i), ticktext: d.ticktext, range: [0, Math.max(d.ticktext.length - 1, 1)] };
      }),
      line: colour
        ? { color: rows.map((r) => colour.values[r]), colorscale: "Viridis", showscale: true, colorbar: { thickness: 10 } }
        : { color: "#2f6fde" },
    };
    const layout = { height: 340, margin: { l: 60, r: 60, t: 48, b: 24 }, font: { size: 11 } };
    window.Plotly.newPlot(box, [trace], layout, { displaylogo: false, responsive: true });
    let timer = null;
    box.on("plotly_restyle", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const conditions = [];
        box.data[0].dimensions.forEach((dimension, i) => {
          const brushed = dimension.constraintrange;
          if (brushed && brushed.length) conditions.push(condition(dims[i], brushed));
        });
        narrow(sweep, conditions);
      }, 300);
    });
  }

  function axis(dim) {
    const title = { text: dim.label };
    if (dim.kind === "number") return { title, automargin: true };
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
    window.Plotly.newPlot(box, [trace], layout, { displaylogo: false, responsive: true });
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
