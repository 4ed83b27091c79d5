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
  for (const button of document.querySelectorAll("[data-open-shortcuts]")) button.hidden = false;
  markScrollables();
});

// A box that scrolls (code, a log, a table wider than a phone) takes the focus, so the
// keyboard can scroll it too; checked again when the window's size changes.
function markScrollables() {
  for (const box of document.querySelectorAll("main pre, main table, .table-scroll, .compare-scroll, .tree-wrap")) {
    const ours = box.dataset.scrollFocus === "1";
    if (box.hasAttribute("tabindex") && !ours) continue;  // the template's own choice
    const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
    if (scrolls && !ours) {
      box.tabIndex = 0;
      box.dataset.scrollFocus = "1";
    } else if (!scrolls && ours) {
      box.removeAttribute("tabindex");
      delete box.dataset.scrollFocus;
    }
  }
}
let resizing = 0;
const markSoon = () => {
  clearTimeout(resizing);
  resizing = setTimeout(markScrollables, 30);
};
window.addEventListener("resize", markSoon);
// Content the page's scripts put in (a preview, a log, rows) is checked too.
document.addEventListener("DOMContentLoaded", () => {
  const main = document.querySelector("main");
  if (main) new MutationObserver(markSoon).observe(main, { childList: true, subtree: true });
});

// Is the user typing? Then single-key shortcuts stay out of the way.
const isTyping = (event) =>
  event.ctrlKey || event.metaKey || event.altKey ||
  Boolean(event.target.closest?.("input, textarea, select, [contenteditable], dialog[open]"));

// --- menus (<details class="dropdown">) ------------------------------------------------
// One open at a time; a click outside or Escape closes it (Escape gives the focus back
// to its summary); an opening menu that would pass the window's right or left edge
// opens the other way.
document.addEventListener("click", (event) => {
  for (const open of document.querySelectorAll("details.dropdown[open]")) {
    if (!open.contains(event.target)) open.open = false;
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const open = event.target.closest?.("details.dropdown[open]");
  if (!open) return;
  open.open = false;
  open.querySelector("summary")?.focus();
});
document.addEventListener("toggle", (event) => {
  const details = event.target;
  if (!details.matches?.("details.dropdown") || !details.open) return;
  const menu = details.querySelector(":scope > .menu");
  if (!menu || getComputedStyle(menu).position === "fixed") return;  // phone: pinned to both edges
  menu.classList.remove("flip", "unflip");
  const box = menu.getBoundingClientRect();
  const width = document.documentElement.clientWidth;
  if (box.right > width) menu.classList.add("flip");
  else if (box.left < 0) menu.classList.add("unflip");
}, true);

// --- "/" focuses the search bar, "?" lists the shortcuts ---------------------------------
document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || isTyping(event)) return;
  if (event.key === "/") {
    const search = document.querySelector("[data-search]");
    if (!search) return;
    event.preventDefault();
    search.focus();
    search.select();
  } else if (event.key === "?") {
    event.preventDefault();
    openShortcuts();
  }
});
function openShortcuts() {
  const dialog = document.getElementById("shortcuts");
  if (!dialog || dialog.open) return;
  const back = document.activeElement;
  dialog.addEventListener("close", () => back?.focus?.(), { once: true });
  dialog.showModal();
  dialog.querySelector("button")?.focus();
}
document.addEventListener("click", (event) => {
  if (!event.target.closest?.("[data-open-shortcuts]")) return;
  event.target.closest("details")?.removeAttribute("open");
  openShortcuts();
});

// --- theme ------------------------------------------------------------------------------
// The server puts the user's choice on <html> (data-theme), so pages draw in it from the
// first paint; without a choice the system's prefers-color-scheme rules. Choosing here
// applies at once and is remembered by the same POST the form makes without script.
// Charts (plotly) take their colours from the CSS custom properties: window.studioTheme
// gives a layout its colours, and every chart on the page is redrawn when the theme changes.
window.studioTheme = (() => {
  // Custom properties hold light-dark() pairs; a probe element resolves them to rgb().
  function resolve(name) {
    const probe = document.createElement("span");
    probe.hidden = true;
    probe.style.color = `var(${name})`;
    document.body.append(probe);
    const value = getComputedStyle(probe).color;
    probe.remove();
    return value;
  }
  function colours() {
    return {
      surface: resolve("--surface"), text: resolve("--text"), muted: resolve("--muted"),
      grid: resolve("--line-soft"), line: resolve("--line"),
    };
  }
  // What a theme changes in a plotly layout, as relayout keys (axes the layout has).
  function update(layout) {
    const c = colours();
    const keys = {
      paper_bgcolor: c.surface, plot_bgcolor: c.surface, "font.color": c.text,
      "legend.font.color": c.text, "hoverlabel.bgcolor": c.surface, "hoverlabel.font.color": c.text,
    };
    for (const axis of Object.keys(layout || {}).filter((k) => /^[xy]axis\d*$/.test(k))) {
      keys[`${axis}.gridcolor`] = c.grid;
      keys[`${axis}.linecolor`] = c.line;
      keys[`${axis}.zerolinecolor`] = c.line;
      keys[`${axis}.tickfont.color`] = c.muted;
    }
    return keys;
  }
  // ``layout`` with the theme's colours (set in place, and returned for chaining).
  function apply(layout) {
    for (const [path, value] of Object.entries(update(layout))) {
      const parts = path.split(".");
      let node = layout;
      for (const part of parts.slice(0, -1)) node = node[part] = node[part] || {};
      node[parts.at(-1)] = value;
    }
    return layout;
  }
  function redraw() {
    if (!window.Plotly) return;
    for (const plot of document.querySelectorAll(".js-plotly-plot")) {
      window.Plotly.relayout(plot, update(plot.layout));
    }
  }
  function set(theme) {
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
    for (const button of document.querySelectorAll("[data-theme-form] button[name=theme]")) {
      button.setAttribute("aria-pressed", String(button.value === theme));
    }
    redraw();
    document.dispatchEvent(new CustomEvent("studio:theme"));
  }
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", redraw);
  return { apply, update, redraw, set };
})();

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches?.("[data-theme-form]") || !event.submitter?.value) return;
  event.preventDefault();
  const body = new FormData(form, event.submitter);
  window.studioTheme.set(event.submitter.value);
  fetch(form.action, { method: "POST", body, credentials: "same-origin", redirect: "manual" });
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
