// ndgrad step-through page: walks the backward (or forward) pass over graphviz's SVG.
// The data (#step-data) come from autograd.step_through():
//   steps[k] = {node, op, module, rule, ids: [DOT names to highlight], upstream,
//               inputs: [{name, id, edge, grad, total, accumulated, broadcast_from, ...}]}
//   forward[k] = {id, ids, name, op, meta, value}
// Values are {text, short}: the numbers for small tensors, else shape, norm, min, max.
// Position 0 is "before the first step"; position k shows step k (1-based) done.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("step-data").textContent);
  const svg = document.querySelector("#graph svg");
  const panel = document.getElementById("panel");
  const slider = document.getElementById("slider");
  const playButton = document.getElementById("play");
  const forwardToggle = document.getElementById("mode-forward");
  let position = 0;
  let timer = null;

  const mode = () => (forwardToggle.checked ? "forward" : "backward");
  const count = () => (mode() === "forward" ? data.forward.length : data.steps.length);

  // ---------------------------------------------------------------- SVG helpers
  function nodeElement(id) {
    return id ? svg.querySelector(`g.node[id="${CSS.escape(id)}"]`) : null;
  }

  function edgeElement(id) {
    return id ? svg.querySelector(`g.edge[id="${CSS.escape(id)}"]`) : null;
  }

  function clearMarks() {
    svg.querySelectorAll(".current, .flow, .has-grad").forEach(el =>
      el.classList.remove("current", "flow", "has-grad"));
    svg.querySelectorAll("text.grad-badge, text.value-badge").forEach(el => el.remove());
  }

  // A small text under a node's box: the gradient (or value) it holds so far.
  function badge(id, text, cls) {
    const node = nodeElement(id);
    if (!node || !text) return;
    const box = node.getBBox();
    const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    label.setAttribute("x", box.x + box.width / 2);
    label.setAttribute("y", box.y + box.height + 10);
    label.setAttribute("text-anchor", "middle");
    label.setAttribute("class", cls);
    label.setAttribute("data-for", id);
    label.textContent = text;
    node.appendChild(label);
  }

  // Highlight the current node(s) and scroll the first one into view.
  function markCurrent(ids) {
    expandAround(ids);
    const nodes = ids.map(nodeElement).filter(n => n);
    nodes.forEach(n => n.classList.add("current"));
    if (nodes.length) nodes[0].scrollIntoView({block: "center", inline: "center"});
  }

  // ---------------------------------------------------------------- panel helpers
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function value(v) {
    return el("pre", v ? v.text : "(not kept)");
  }

  // ---------------------------------------------------------------- backward
  function showBackward(k) {
    clearMarks();
    const grads = {};  // DOT id -> gradient so far (the latest total wins)
    for (const seed of data.seeds) if (seed.id && seed.grad) grads[seed.id] = seed.grad.short;
    for (let i = 0; i < k; i++) {
      for (const inp of data.steps[i].inputs) if (inp.id && inp.total) grads[inp.id] = inp.total.short;
    }
    for (const [id, text] of Object.entries(grads)) {
      const node = nodeElement(id);
      if (node) node.classList.add("has-grad");
      badge(id, "∇ " + text, "grad-badge");
    }
    panel.replaceChildren();
    if (k === 0) {
      panel.append(el("h2", "Before backward"));
      panel.append(el("p", "The gradient of the output with respect to itself starts it:"));
      for (const line of data.root_lines) panel.append(el("p", line, "formula"));
      if (data.seeds.length && data.seeds[0].grad) panel.append(value(data.seeds[0].grad));
      panel.append(el("p", "Press Next (→) to run the first step of backward."));
      return;
    }
    const step = data.steps[k - 1];
    markCurrent(step.ids);
    for (const inp of step.inputs) {
      const e = edgeElement(inp.edge);
      if (e) e.classList.add("flow");
    }
    panel.append(el("h2", `Step ${k}: ${step.op} → ${step.node}`, "title"));
    if (step.module) panel.append(el("p", `module: ${step.module}`, "module"));
    panel.append(el("p", "local rule:"));
    panel.append(el("p", step.rule, "rule"));
    panel.append(el("p", `upstream dL/d${step.node} ${step.upstream_shape}:`));
    panel.append(value(step.upstream));
    const list = el("ul", null, "inputs");
    for (const inp of step.inputs) {
      const item = el("li", null, "input");
      item.dataset.name = inp.name;
      item.append(el("b", `to ${inp.name} ${inp.shape}`));
      if (inp.formula) {
        item.append(el("div", inp.formula + (inp.numbers ? " = " + inp.numbers : ""), "formula"));
      }
      item.append(value(inp.grad));
      if (inp.broadcast_from) {
        item.append(el("div", `broadcast summed: ${inp.broadcast_from} → ${inp.shape}`, "note"));
      }
      if (inp.accumulated) {
        item.append(el("div", `added to the gradient ${inp.name} already had (used twice): total`, "note"));
        item.append(value(inp.total));
      } else if (inp.shared) {
        item.append(el("div", `${inp.name} is used more than once: more will be added`, "note"));
      }
      list.append(item);
    }
    panel.append(el("p", "gradients sent to the inputs:"));
    panel.append(list);
  }

  // ---------------------------------------------------------------- forward
  function showForward(k) {
    clearMarks();
    for (let i = 0; i < k; i++) {
      const item = data.forward[i];
      if (item.value) badge(item.id, item.value.short, "value-badge");
    }
    panel.replaceChildren();
    if (k === 0) {
      panel.append(el("h2", "Forward pass"));
      panel.append(el("p", "Press Next (→) to compute the nodes in order, inputs first."));
      return;
    }
    const item = data.forward[k - 1];
    markCurrent(item.ids);
    panel.append(el("h2", `Forward ${k}: ${item.op} → ${item.name}`, "title"));
    panel.append(el("p", item.meta));
    panel.append(value(item.value));
  }

  // ---------------------------------------------------------------- clusters
  // Clicking a cluster (a module's box, with group_by="module") collapses it: the nodes
  // and edges drawn inside it are hidden and the box is greyed; clicking again expands
  // it. A step whose node is inside a collapsed cluster expands that cluster.
  function inside(inner, outer) {
    return inner.x >= outer.x - 0.5 && inner.y >= outer.y - 0.5 &&
      inner.x + inner.width <= outer.x + outer.width + 0.5 &&
      inner.y + inner.height <= outer.y + outer.height + 0.5;
  }

  // The box of an element's own shape (not of the gradient labels added under it).
  function shapeBox(el) {
    return (el.querySelector(":scope > polygon, :scope > ellipse, :scope > path") || el).getBBox();
  }

  function setCollapsed(cluster, collapsed) {
    const box = shapeBox(cluster);
    cluster.classList.toggle("collapsed", collapsed);
    svg.querySelectorAll("g.node, g.edge, g.cluster").forEach(el => {
      if (el !== cluster && inside(shapeBox(el), box)) el.classList.toggle("hidden", collapsed);
    });
  }

  function expandAround(ids) {
    svg.querySelectorAll("g.cluster.collapsed").forEach(cluster => {
      const box = shapeBox(cluster);
      if (ids.some(id => { const n = nodeElement(id); return n && inside(shapeBox(n), box); })) {
        setCollapsed(cluster, false);
      }
    });
  }

  svg.querySelectorAll("g.cluster").forEach(cluster => {
    const title = cluster.querySelector("title");
    if (title && title.textContent === "cluster_legend") return;
    cluster.addEventListener("click", () =>
      setCollapsed(cluster, !cluster.classList.contains("collapsed")));
  });

  // ---------------------------------------------------------------- navigation
  function go(k) {
    position = Math.max(0, Math.min(count(), k));
    slider.max = count();
    slider.value = position;
    document.body.dataset.step = position;
    document.body.dataset.mode = mode();
    document.getElementById("step-index").textContent = `${position} / ${count()}`;
    if (mode() === "forward") showForward(position); else showBackward(position);
  }

  function togglePlay() {
    if (timer) {
      clearInterval(timer);
      timer = null;
      playButton.textContent = "▶ Play";
      return;
    }
    if (position >= count()) go(0);
    playButton.textContent = "❚❚ Pause";
    timer = setInterval(() => {
      if (position >= count()) togglePlay(); else go(position + 1);
    }, 900);
  }

  document.getElementById("prev").addEventListener("click", () => go(position - 1));
  document.getElementById("next").addEventListener("click", () => go(position + 1));
  playButton.addEventListener("click", togglePlay);
  slider.addEventListener("input", () => go(Number(slider.value)));
  forwardToggle.addEventListener("change", () => go(0));
  document.addEventListener("keydown", event => {
    if (event.key === "ArrowRight") go(position + 1);
    else if (event.key === "ArrowLeft") go(position - 1);
    else if (event.key === " ") { event.preventDefault(); togglePlay(); }
  });
  go(0);
})();
