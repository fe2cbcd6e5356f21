// The graph explorer of chainrule (autograd/draw/explorer.py): draws a graph laid out by Graphviz and
// lets the reader pan, zoom, search, click a Value for the chain-rule sum of its gradient, step
// through backward() and collapse scope frames. The same script runs in the saved HTML page and in
// the Jupyter widget. Every text from the graph is set with textContent, never parsed as markup.
"use strict";

function mountExplorer(el, data, opts) {
  const SVG = "http://www.w3.org/2000/svg";
  const page = !!(opts && opts.page);
  el.textContent = "";
  const svgEl = (tag, attrs, parent) => {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  };
  const htmlEl = (tag, cls, parent, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  };

  const style = htmlEl("style", null, el);
  style.textContent = `
.cx-root{display:flex;flex-direction:column;height:${page ? "100%" : "620px"};font:13px Helvetica,Arial,sans-serif;
  color:#222;border:1px solid #ccc;box-sizing:border-box;outline:none;background:#fff}
.cx-bar{display:flex;gap:6px;align-items:center;padding:5px 8px;border-bottom:1px solid #ddd;background:#f7f7f7;flex-wrap:wrap}
.cx-bar button{font:inherit;padding:2px 8px;cursor:pointer}
.cx-bar input{font:inherit;width:150px;padding:2px 4px}
.cx-status{color:#555}.cx-caption{color:#7a4a00;font-weight:bold}
.cx-main{display:flex;flex:1;min-height:0}
.cx-canvas{flex:1;position:relative;overflow:hidden;cursor:grab;background:#fff}
.cx-canvas.cx-dragging{cursor:grabbing}
.cx-canvas svg{width:100%;height:100%;display:block;user-select:none}
.cx-panel{width:330px;overflow:auto;border-left:1px solid #ddd;padding:8px 10px;box-sizing:border-box;background:#fcfcfc}
.cx-panel h3{margin:2px 0 6px;font-size:15px;word-break:break-all}
.cx-panel table{border-collapse:collapse;width:100%;margin:4px 0}
.cx-panel td{padding:2px 4px;border-bottom:1px solid #eee;vertical-align:top;word-break:break-all}
.cx-panel .cx-k{color:#666;white-space:nowrap;width:1%}
.cx-panel .cx-sum td{border-top:2px solid #999;font-weight:bold}
.cx-panel .cx-note{color:#666;font-size:12px;margin:6px 0}
.cx-link{color:#1f4e9c;cursor:pointer;text-decoration:underline}
.cx-node rect,.cx-node ellipse{stroke:#333;stroke-width:1}
.cx-node text{font:11px Helvetica,Arial,sans-serif;pointer-events:none}
.cx-node{cursor:pointer}
.cx-op ellipse{fill:#f0f0f0;stroke:#777}.cx-op text{font-size:10px}
.cx-copy rect{stroke-dasharray:4 3}
.cx-box rect{fill:#e8eef7;stroke-width:1.5}
.cx-bad rect{stroke:#8b0000;stroke-width:3}
path.cx-edge{fill:none;stroke:#555;stroke-width:1;pointer-events:none}
.cx-edge-label{font:10px Helvetica,Arial,sans-serif;fill:#1f4e9c;text-anchor:middle;pointer-events:none}
.cx-frame rect{fill:#f3f6fb;stroke:#9aa8bd;cursor:pointer}
.cx-frame.cx-d2 rect{fill:#e8eef7}.cx-frame.cx-d3 rect{fill:#dde6f2}
.cx-frame text{font:10px Helvetica,Arial,sans-serif;fill:#333;cursor:pointer}
.cx-frame.cx-collapsed rect{fill:#c9d6ea;stroke:#4a5f80;stroke-width:2}
.cx-frame.cx-collapsed text{font-size:13px;font-weight:bold}
.cx-hidden{display:none}
.cx-match rect,.cx-match ellipse{stroke:#0a7d32;stroke-width:3}
.cx-path rect,.cx-path ellipse{stroke:#8e24aa;stroke-width:2.5}
path.cx-edge.cx-path{stroke:#8e24aa;stroke-width:2.5}
.cx-selected rect,.cx-selected ellipse{stroke:#c00;stroke-width:3.5}
.cx-current rect,.cx-current ellipse{fill:#ffe08a !important;stroke:#e07b00;stroke-width:3}
path.cx-edge.cx-pass{stroke:#e07b00;stroke-width:2.5}.cx-edge-label.cx-pass{fill:#e07b00;font-weight:bold}
`;

  const root = htmlEl("div", "cx-root", el);
  root.tabIndex = 0;
  root.setAttribute("aria-label", "graph explorer of " + data.title);
  const bar = htmlEl("div", "cx-bar", root);
  const fitButton = htmlEl("button", "cx-fit", bar, "fit");
  fitButton.title = "fit the whole graph in the window (key f)";
  const zoomOut = htmlEl("button", "cx-zoom-out", bar, "−");
  const zoomIn = htmlEl("button", "cx-zoom-in", bar, "+");
  const search = htmlEl("input", "cx-search", bar);
  search.type = "search";
  search.placeholder = "search a label…";
  const searchStatus = htmlEl("span", "cx-status cx-search-status", bar);
  const back = htmlEl("button", "cx-step-back", bar, "◀ step");
  back.title = "one step of backward() back (key ←)";
  const next = htmlEl("button", "cx-step-next", bar, "step ▶");
  next.title = "one step of backward() on (key →)";
  const reset = htmlEl("button", "cx-step-reset", bar, "reset");
  const caption = htmlEl("span", "cx-caption", bar);
  const main = htmlEl("div", "cx-main", root);
  const canvas = htmlEl("div", "cx-canvas", main);
  const panel = htmlEl("div", "cx-panel", main);

  const svg = svgEl("svg", {}, canvas);
  const viewport = svgEl("g", {class: "cx-viewport"}, svg);
  const frameLayer = svgEl("g", {}, viewport);
  const edgeLayer = svgEl("g", {}, viewport);
  const nodeLayer = svgEl("g", {}, viewport);
  const labelLayer = svgEl("g", {}, viewport);

  // ---- drawing ---------------------------------------------------------------------------
  const byId = new Map();
  for (const n of data.nodes) {
    byId.set(n.id, n);
    if (n.kind === "value" && n.g === undefined) n.g = n.grad;  // this pass's gradient, when .grad differs
  }
  const frames = data.frames.slice().sort((a, b) => a.depth - b.depth);
  frames.forEach((f, i) => {
    f.el = svgEl("g", {class: "cx-frame cx-d" + (((f.depth - 1) % 3) + 1), "data-frame": String(i)}, frameLayer);
    f.rect = svgEl("rect", {x: f.x, y: f.y, width: f.w, height: f.h, rx: 6}, f.el);
    f.text = svgEl("text", {x: f.x + 6, y: f.y + 12}, f.el);
    f.text.textContent = f.label;
    const title = svgEl("title", {}, f.el);
    title.textContent = f.path + " (click to collapse or expand)";
    f.collapsed = false;
  });

  for (const n of data.nodes) {
    const g = svgEl("g", {class: "cx-node cx-" + n.kind, "data-id": n.id}, nodeLayer);
    n.el = g;
    if (n.kind === "op") svgEl("ellipse", {cx: n.x + n.w / 2, cy: n.y + n.h / 2, rx: n.w / 2, ry: n.h / 2}, g);
    else {
      const rect = svgEl("rect", {x: n.x, y: n.y, width: n.w, height: n.h, rx: 2}, g);
      if (n.kind === "value") rect.setAttribute("fill", n.fill || "#fff");
      if (n.bad) g.classList.add("cx-bad");
    }
  }
  // The texts: at once for a graph of ordinary size; for thousands of nodes, after the first
  // picture, a slice per frame (shaping 5,000 texts is most of the work of the first paint, and
  // at the size that shows the whole graph they are too small to read anyway).
  function writeText(n) {
    const cx = n.x + n.w / 2, cy = n.y + n.h / 2;
    if (n.kind === "op") {
      svgEl("text", {x: cx, y: cy + 3.5, "text-anchor": "middle"}, n.el).textContent = n.label;
      return;
    }
    const t = svgEl("text", {x: cx, y: cy + 4, "text-anchor": "middle"}, n.el);
    if (n.kind === "box") {
      t.textContent = n.label + " · " + n.n + " values";
      return;
    }
    if (n.fg && n.fg !== "black") t.setAttribute("fill", n.fg);
    if (n.label) svgEl("tspan", {"font-weight": "bold"}, t).textContent = n.label + "  ";
    svgEl("tspan", {}, t).textContent = "data " + n.data + "  ";
    n.gradSpan = svgEl("tspan", {}, t);
    n.gradSpan.textContent = step ? (stepDone.has(n.kind === "copy" ? n.of : n.id) ? "grad " + valueOf(n.id).g : "grad ?")
      : "grad " + n.grad;
  }
  const TEXT_SLICE = 1500;
  let written = 0;
  const writeSlice = () => {
    const end = Math.min(data.nodes.length, written + TEXT_SLICE);
    for (; written < end; written++) writeText(data.nodes[written]);
    if (written < data.nodes.length) requestAnimationFrame(writeSlice);
    else root.dataset.ready = "true";  // every text is drawn
  };

  // An open arrowhead at the end of the path: two strokes back from the tip, 7 units long.
  function arrowhead(p) {
    const k = p.length;
    const x = p[k - 2], y = p[k - 1];
    let dx = x - p[k - 4], dy = y - p[k - 3];
    const len = Math.hypot(dx, dy) || 1;
    dx /= len; dy /= len;
    const ax = x - 7 * dx, ay = y - 7 * dy;
    const f = (v) => Math.round(v * 10) / 10;
    return " M" + f(ax - 3 * dy) + "," + f(ay + 3 * dx) + " L" + f(x) + "," + f(y) + " L" + f(ax + 3 * dy) + "," + f(ay - 3 * dx);
  }

  const edgesInto = new Map();  // op id -> its edges, in the order of the op's inputs
  const edges = data.edges.map((e) => {
    const p = e.p;
    let d = "M" + p[0] + "," + p[1];
    const n = p.length / 2;
    let i = 1;
    for (; i + 2 < n; i += 3) {
      d += " C" + p[2 * i] + "," + p[2 * i + 1] + " " + p[2 * i + 2] + "," + p[2 * i + 3] + " " +
        p[2 * i + 4] + "," + p[2 * i + 5];
    }
    for (; i < n; i++) d += " L" + p[2 * i] + "," + p[2 * i + 1];
    d += arrowhead(p);  // drawn into the path itself: 10,000 SVG markers slow the first paint down
    const edge = {t: e.t, h: e.h, el: svgEl("path", {d, class: "cx-edge"}, edgeLayer), base: e.l || "", text: null,
      lx: e.lx !== undefined ? e.lx : p[2 * Math.floor(n / 2)],  // else a point half way along the curve
      ly: e.ly !== undefined ? e.ly : p[2 * Math.floor(n / 2) + 1] - 3};
    if (edge.base) labelOf(edge);
    if (!edgesInto.has(e.h)) edgesInto.set(e.h, []);
    edgesInto.get(e.h).push(edge);
    return edge;
  });
  // An edge's text (its local derivative, or the share a step passes), made when first needed:
  // one element fewer per edge makes the first paint of a large graph quicker.
  function labelOf(edge) {
    if (!edge.text) {
      edge.text = svgEl("text", {x: edge.lx, y: edge.ly, class: "cx-edge-label"}, labelLayer);
      edge.text.textContent = edge.base;
    }
    return edge.text;
  }

  // ---- pan and zoom -----------------------------------------------------------------------
  // The view is the SVG's viewBox, shown whole and centred ("meet"): the first picture needs no
  // measuring of the page (which would lay out every text of a large graph twice before it shows).
  const M = 10;
  let view = {x: -M, y: -M, w: data.width + 2 * M, h: data.height + 2 * M};
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const apply = () => svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  const screen = () => {  // pixels per unit, and where the viewBox starts on the screen
    const r = canvas.getBoundingClientRect();
    const s = Math.min(r.width / view.w, r.height / view.h);
    return {r, s, ox: (r.width - view.w * s) / 2, oy: (r.height - view.h * s) / 2};
  };
  const fit = () => { view = {x: -M, y: -M, w: data.width + 2 * M, h: data.height + 2 * M}; apply(); };
  const zoomAt = (factor, px, py) => {
    const {s, ox, oy} = screen();
    const f = Math.min(40 / s, Math.max(0.01 / s, factor));
    const gx = view.x + (px - ox) / s, gy = view.y + (py - oy) / s;
    view = {x: gx - (px - ox) / (s * f), y: gy - (py - oy) / (s * f), w: view.w / f, h: view.h / f};
    apply();
  };
  const centreOn = (n) => {
    const {s} = screen();
    const k = s < 0.8 ? s : 1;  // zoomed far out: come in to life size
    const w = view.w * k, h = view.h * k;
    view = {x: n.x + n.w / 2 - w / 2, y: n.y + n.h / 2 - h / 2, w, h};
    apply();
  };
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = canvas.getBoundingClientRect();
    zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  }, {passive: false});
  fitButton.addEventListener("click", fit);
  zoomIn.addEventListener("click", () => { const r = canvas.getBoundingClientRect(); zoomAt(1.25, r.width / 2, r.height / 2); });
  zoomOut.addEventListener("click", () => { const r = canvas.getBoundingClientRect(); zoomAt(0.8, r.width / 2, r.height / 2); });
  let drag = null;
  canvas.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    drag = {x: ev.clientX, y: ev.clientY, view: {...view}, s: screen().s, moved: false};
    root.focus({preventScroll: true});
  });
  const onMove = (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!drag.moved) canvas.classList.add("cx-dragging");
    drag.moved = true;
    view = {...drag.view, x: drag.view.x - dx / drag.s, y: drag.view.y - dy / drag.s};
    apply();
  };
  const onUp = (ev) => {
    if (!drag) return;
    const moved = drag.moved;
    drag = null;
    canvas.classList.remove("cx-dragging");
    if (!moved && canvas.contains(ev.target)) clicked(ev.target);
  };
  window.addEventListener("pointermove", onMove);
  window.addEventListener("pointerup", onUp);

  // ---- clicking: a node's chain-rule sum, a frame's collapse ------------------------------
  function clicked(target) {
    const node = target.closest && target.closest("[data-id]");
    if (node) return select(node.getAttribute("data-id"));
    const frame = target.closest && target.closest("[data-frame]");
    if (frame) return toggleFrame(frames[Number(frame.getAttribute("data-frame"))]);
    select(null);
  }

  const hiddenBy = new Map();  // node id -> how many collapsed frames hide it
  function toggleFrame(f) {
    f.collapsed = !f.collapsed;
    const step = f.collapsed ? 1 : -1;
    for (const id of f.nodes) {
      const k = (hiddenBy.get(id) || 0) + step;
      hiddenBy.set(id, k);
      byId.get(id).el.classList.toggle("cx-hidden", k > 0);
    }
    for (const e of edges) {
      const hide = (hiddenBy.get(e.t) || 0) > 0 && (hiddenBy.get(e.h) || 0) > 0;
      e.el.classList.toggle("cx-hidden", hide);
      if (e.text) e.text.classList.toggle("cx-hidden", hide);
    }
    for (const inner of frames) {  // frames inside a collapsed one are hidden with it
      if (inner === f || inner.depth <= f.depth) continue;
      const inside = frames.some((o) => o.collapsed && o.depth < inner.depth && inner.nodes.length &&
        inner.nodes.every((id) => o.nodes.includes(id)));
      inner.el.classList.toggle("cx-hidden", inside);
    }
    f.el.classList.toggle("cx-collapsed", f.collapsed);
    const values = f.nodes.filter((id) => byId.get(id).kind === "value").length;
    f.text.textContent = f.collapsed ? "▸ " + f.label + " (" + values + " values hidden; click to expand)" : f.label;
    (f.collapsed ? labelLayer : frameLayer).appendChild(f.el);  // a collapsed frame lies over the edges through it
  }

  let marked = [];
  const mark = (els, cls) => { for (const e of els) { e.classList.add(cls); marked.push([e, cls]); } };
  const unmark = () => { for (const [e, cls] of marked) e.classList.remove(cls); marked = []; };
  const valueOf = (id) => {
    const n = byId.get(id);
    return n && (n.kind === "copy" || n.kind === "op") ? byId.get(n.of) || n : n;
  };

  function select(id) {
    unmark();
    panel.textContent = "";
    if (id === null) return showHelp();
    const n = valueOf(id);
    if (!n) return showHelp();
    const els = [n.el];
    for (const m of data.nodes) if (m.kind === "copy" && m.of === n.id) els.push(m.el);
    if (n.kind === "box") {
      mark(els, "cx-selected");
      htmlEl("h3", null, panel, n.label);
      htmlEl("p", "cx-note", panel, "A collapsed scope of " + n.n + " values. Draw it without collapse= to see them.");
      return;
    }
    // the path to the root: every Value that uses this one, and the uses of those
    const onPath = new Set([n.id]);
    const queue = [n];
    while (queue.length) {
      const v = queue.pop();
      for (const [user] of v.uses || []) if (!onPath.has(user)) { onPath.add(user); queue.push(byId.get(user)); }
    }
    const pathEls = [];
    for (const id2 of onPath) {
      const m = byId.get(id2);
      if (m && m !== n) pathEls.push(m.el);
      const op = byId.get("o" + id2.slice(1));
      if (id2 !== n.id && op && op.kind === "op") pathEls.push(op.el);
    }
    for (const e of edges) {
      const head = byId.get(e.h);
      const headValue = head && head.kind === "op" ? head.of : e.h;
      const tail = valueOf(e.t);
      if (onPath.has(headValue) && tail && onPath.has(tail.id) && headValue !== n.id) pathEls.push(e.el);
    }
    mark(pathEls, "cx-path");
    mark(els, "cx-selected");

    htmlEl("h3", null, panel, n.label ? n.label : "(a value without a label)");
    const facts = htmlEl("table", "cx-facts", panel);
    const row = (k, v, cls) => {
      const tr = htmlEl("tr", cls, facts);
      htmlEl("td", "cx-k", tr, k);
      return htmlEl("td", null, tr, v);
    };
    row("data", n.data);
    row("grad", n.grad).className = "cx-grad";
    row("op", n.op || "none: a leaf (an input or a parameter)");
    const inputs = row("inputs", n.inputs.length ? "" : "none");
    n.inputs.forEach((inp, i) => {
      const m = byId.get(inp);
      const name = !m ? inp : m.label || (m.kind === "box" ? m.label : m.op ? "(" + m.op + ")" : "(a leaf)");
      const a = htmlEl("span", "cx-link", inputs, name);
      a.addEventListener("click", () => select(inp));
      if (i < n.inputs.length - 1) inputs.appendChild(document.createTextNode(", "));
    });
    htmlEl("div", "cx-note", panel, "The chain rule: d(root)/d(this) is the sum over this value's uses of " +
      "local derivative × gradient of the user.");
    const sum = htmlEl("table", "cx-chain", panel);
    const head = htmlEl("tr", null, sum);
    for (const h of ["used by", "local", "× grad of user", "= share"]) htmlEl("td", "cx-k", head, h);
    if (n.isRoot) {
      const tr = htmlEl("tr", "cx-share-row cx-root-row", sum);
      tr.dataset.share = "1.0";
      htmlEl("td", null, tr, "root");
      htmlEl("td", null, tr, "");
      htmlEl("td", null, tr, "");
      htmlEl("td", null, tr, "1 (d(root)/d(root))");
    }
    for (const [user, local, userGrad, share, exact] of n.uses) {
      const tr = htmlEl("tr", "cx-share-row", sum);
      tr.dataset.share = exact;
      const u = byId.get(user);
      const who = htmlEl("td", "cx-link", tr, u.kind === "box" ? u.label : u.op + (u.label ? " → " + u.label : ""));
      who.addEventListener("click", () => select(user));
      htmlEl("td", null, tr, local);
      htmlEl("td", null, tr, "× " + userGrad);
      htmlEl("td", null, tr, "= " + share);
    }
    const total = htmlEl("tr", "cx-sum", sum);
    htmlEl("td", null, total, "sum");
    htmlEl("td", null, total, "");
    htmlEl("td", null, total, "");
    const t = htmlEl("td", "cx-sum-value", total, n.g);
    if (!n.isRoot && n.uses.length === 0) htmlEl("div", "cx-note", panel, "Not used on the way to the root: gradient 0.");
    if (n.gradExact !== undefined) {
      htmlEl("div", "cx-note", panel, "Its .grad is " + n.grad + ", not this pass's " + n.g +
        ": backward() ran more than once (gradients add up) or not yet.");
    }
  }

  function showHelp() {
    panel.textContent = "";
    htmlEl("h3", null, panel, data.title);
    const lines = ["Click a value: its data, grad, op, inputs and the chain-rule sum of its gradient; the path to the root lights up.",
      "Drag to pan, wheel to zoom, fit to see it all.",
      "← → (or the step buttons): backward() one node at a time, in its own order.",
      "Click a scope's frame to collapse or expand it.",
      data.nodes.length + " nodes, " + data.order.length + " steps of backward()."];
    for (const l of lines) htmlEl("p", "cx-note", panel, l);
  }

  // ---- search -----------------------------------------------------------------------------
  let matches = [], matchAt = -1, matchEls = [];
  search.addEventListener("input", () => {
    for (const e of matchEls) e.classList.remove("cx-match");
    const q = search.value.trim().toLowerCase();
    matches = q ? data.nodes.filter((n) => n.kind !== "op" && n.kind !== "copy" && (n.label || "").toLowerCase().includes(q)) : [];
    matchEls = matches.map((n) => n.el);
    for (const e of matchEls) e.classList.add("cx-match");
    matchAt = -1;
    searchStatus.textContent = q ? (matches.length ? matches.length + " found (Enter: next)" : "not found") : "";
    if (matches.length) showMatch(0);
  });
  search.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && matches.length) showMatch((matchAt + 1) % matches.length);
    ev.stopPropagation();
  });
  function showMatch(i) {
    matchAt = i;
    centreOn(matches[i]);
    select(matches[i].id);
    if (matches.length > 1) searchStatus.textContent = (i + 1) + " of " + matches.length + " (Enter: next)";
  }

  // ---- stepping through backward() ---------------------------------------------------------
  let step = 0;
  let stepDone = new Set();
  let stepMarked = [];
  function showStep(k) {
    step = Math.max(0, Math.min(data.order.length, k));
    for (const [e, cls] of stepMarked) e.classList.remove(cls);
    stepMarked = [];
    const smark = (e, cls) => { if (e) { e.classList.add(cls); stepMarked.push([e, cls]); } };
    for (const e of edges) if (e.text) e.text.textContent = e.base;
    if (step === 0) {
      caption.textContent = "";
      for (const n of data.nodes) if (n.gradSpan) n.gradSpan.textContent = "grad " + n.grad;
      return;
    }
    const done = new Set(data.order.slice(0, step));
    stepDone = done;
    for (const n of data.nodes) {
      if (!n.gradSpan) continue;
      const v = n.kind === "copy" ? byId.get(n.of) : n;
      n.gradSpan.textContent = done.has(v.id) ? "grad " + v.g : "grad ?";  // complete, or still being summed
      smark(n.el, done.has(v.id) ? "cx-done" : "cx-pending");
    }
    const id = data.order[step - 1];
    const n = byId.get(id);
    smark(n.el, "cx-current");
    const op = byId.get("o" + id.slice(1));
    if (op && op.kind === "op") smark(op.el, "cx-current");
    const updates = data.steps[step - 1];
    const into = (op && op.kind === "op" ? edgesInto.get(op.id) : null) || [];
    updates.forEach((u, i) => {
      const e = into[i];
      if (!e) return;
      smark(e.el, "cx-pass");
      const t = labelOf(e);
      smark(t, "cx-pass");
      t.textContent = u[1] + " × " + n.g + " = " + u[2];
    });
    const passes = updates.length ? ", so each input.grad += local × " + n.g : "; a leaf passes nothing on";
    const head = "Step " + step + " of " + data.order.length + ": ";
    if (n.kind === "box") {  // a Value drawn inside a collapsed scope: no box of its own to show
      caption.textContent = head + "a value inside the collapsed scope " + n.label + " passes its complete gradient on";
      return;
    }
    const what = (n.op ? "the " + n.op + " node" : "the leaf") + (n.label ? " '" + n.label + "'" : "");
    caption.textContent = head + what + " has its complete gradient " + n.g + passes;
  }
  next.addEventListener("click", () => showStep(step + 1));
  back.addEventListener("click", () => showStep(step - 1));
  reset.addEventListener("click", () => showStep(0));
  const onKey = (ev) => {
    if (ev.target === search) return;
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") showStep(step + 1);
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") showStep(step - 1);
    else if (ev.key === "Escape") { showStep(0); select(null); }
    else if (ev.key === "f") fit();
    else if (ev.key === "/") search.focus();
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  };
  (page ? document : root).addEventListener("keydown", onKey);

  showHelp();
  fit();
  writeSlice();  // the first slice now: a graph of ordinary size is drawn whole before its first paint
  if (page) root.focus({preventScroll: true});
  const destroy = () => {  // what a Jupyter widget's view calls when it goes away
    window.removeEventListener("pointermove", onMove);
    window.removeEventListener("pointerup", onUp);
    if (page) document.removeEventListener("keydown", onKey);
  };
  root.explorer = {select, showStep, toggleFrame: (i) => toggleFrame(frames[i]), fit, destroy, get step() { return step; }};
  return root.explorer;
}
