// shapecheck's HTML report: highlighting, side panel, search, n/p keys, pan/zoom, en/zh.
// Reads only the page's data part; loads nothing and evaluates no strings.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("shapecheck-data").textContent);
  var lang = DATA.lang;
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.model"));
  var findings = [];   // every finding on the page, in order: {m, k, li}
  var current = -1;
  var viewers = [];
  var panels = [];     // what each section's panel shows, to redraw it on a language switch

  function W(key) { return (DATA.words[lang] || {})[key] || DATA.words.en[key] || key; }
  function all(root, selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }
  function make(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function number(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function nodeOf(m, path) {
    return path == null ? null : sections[m].querySelector('g.node[data-path="' + CSS.escape(path) + '"]');
  }

  // ------------------------------------------------------------------ pan and zoom
  function Viewer(m) {
    var canvas = sections[m].querySelector(".canvas");
    var svg = canvas && canvas.querySelector("svg");
    if (!svg) return null;
    var box = svg.viewBox.baseVal;
    var full = { x: box.x, y: box.y, w: box.width, h: box.height };
    var view = { x: full.x, y: full.y, w: full.w, h: full.h };
    function apply() { svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" ")); }
    function scale() { return Math.max(view.w / (canvas.clientWidth || 1), view.h / (canvas.clientHeight || 1)); }
    function toSvg(x, y) {
      var p = svg.createSVGPoint(); p.x = x; p.y = y;
      return p.matrixTransform(svg.getScreenCTM().inverse());
    }
    function zoom(f, at) {
      at = at || { x: view.x + view.w / 2, y: view.y + view.h / 2 };
      view.x = at.x - (at.x - view.x) * f; view.y = at.y - (at.y - view.y) * f;
      view.w *= f; view.h *= f; apply();
    }
    function fit() { view = { x: full.x, y: full.y, w: full.w, h: full.h }; apply(); }
    function show(elements) {   // zoom so that these elements fill the view, not closer than 1:1
      var inverse = svg.getScreenCTM().inverse(), x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      elements.forEach(function (e) {
        var b = e.getBBox(), t = inverse.multiply(e.getScreenCTM());
        [[b.x, b.y], [b.x + b.width, b.y + b.height]].forEach(function (c) {
          var p = svg.createSVGPoint(); p.x = c[0]; p.y = c[1]; p = p.matrixTransform(t);
          x0 = Math.min(x0, p.x); y0 = Math.min(y0, p.y); x1 = Math.max(x1, p.x); y1 = Math.max(y1, p.y);
        });
      });
      if (!isFinite(x0)) return;
      var cw = canvas.clientWidth || 800, ch = canvas.clientHeight || 600;
      var w = Math.max(x1 - x0 + 80, cw * 0.9), h = Math.max(y1 - y0 + 80, ch * 0.9);
      var s = Math.max(w / cw, h / ch);
      view = { w: cw * s, h: ch * s, x: (x0 + x1) / 2 - cw * s / 2, y: (y0 + y1) / 2 - ch * s / 2 };
      apply();
    }
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      zoom(e.deltaY > 0 ? 1.2 : 1 / 1.2, toSvg(e.clientX, e.clientY));
    }, { passive: false });
    var drag = null;
    canvas.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false };
    });
    window.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      drag.moved = true; canvas.classList.add("dragging");
      view.x = drag.vx - dx * scale(); view.y = drag.vy - dy * scale(); apply();
    });
    window.addEventListener("pointerup", function () {
      if (drag && drag.moved) canvas.dataset.dragged = "1";
      drag = null; canvas.classList.remove("dragging");
    });
    all(sections[m], ".tools button").forEach(function (b) {
      b.addEventListener("click", function () {
        var z = b.getAttribute("data-zoom");
        if (z === "fit") fit(); else zoom(z === "in" ? 1 / 1.5 : 1.5);
      });
    });
    apply();
    return { show: show, fit: fit, zoom: zoom };
  }

  // ------------------------------------------------------------------ highlighting
  var MARKS = ["hl-add", "hl-main", "hl-short", "hl-fix", "hl-search", "selected"];
  function clearMarks(m, marks) {
    marks = marks || MARKS;
    all(sections[m], ".canvas g.hl-add, .canvas g.hl-main, .canvas g.hl-short, .canvas g.hl-fix, " +
        ".canvas g.hl-search, .canvas g.selected").forEach(function (g) {
      marks.forEach(function (c) { g.classList.remove(c); });
    });
  }
  function mark(m, path, cls) { var g = nodeOf(m, path); if (g) g.classList.add(cls); return g; }

  function selectFinding(i) {
    if (!findings.length) return;
    current = (i + findings.length) % findings.length;
    var f = findings[current], m = f.m, fd = DATA.models[m].findings[f.k];
    findings.forEach(function (o) { o.li.classList.remove("active"); });
    sections.forEach(function (_, n) { clearMarks(n); });
    f.li.classList.add("active");
    f.li.scrollIntoView({ block: "nearest" });
    var shown = [];
    var main = {}, short = {};
    fd.main.forEach(function (p) { main[p] = 1; var g = mark(m, p, "hl-main"); if (g) shown.push(g); });
    fd.short.forEach(function (p) { short[p] = 1; var g = mark(m, p, "hl-short"); if (g) shown.push(g); });
    if (fd.fix) mark(m, fd.fix, "hl-fix");
    var target = mark(m, fd.target, "hl-add");
    all(sections[m], ".canvas g.edge").forEach(function (e) {
      var from = e.getAttribute("data-from"), to = e.getAttribute("data-to");
      var cls = null;
      if (fd.fix && (to === fd.fix || from === fd.fix)) cls = "hl-fix";
      else if (main[to] || (main[from] && to === fd.target)) cls = "hl-main";
      else if (short[to] || (short[from] && to === fd.target) ||
               (from === fd.fork && to === fd.target && !fd.short.length)) cls = "hl-short";
      else if (from === fd.fork && main[to]) cls = "hl-main";
      if (cls) e.classList.add(cls);
    });
    if (target) {
      sections[m].querySelector(".viewer").scrollIntoView({ block: "nearest" });
      if (viewers[m]) viewers[m].show([target].concat(shown));
      showPanel(m, fd.target, null);
    }
  }

  // ------------------------------------------------------------------ side panel
  function layerTable(model, layers) {
    var table = make("table"), head = make("tr");
    ["layer", "shape_in", "shape_out", "params", "macs", "source"].forEach(function (k) {
      head.appendChild(make("th", null, W(k)));
    });
    table.appendChild(head);
    layers.forEach(function (row) {
      var tr = make("tr"), src = row[6] >= 0 ? model.sources[row[6]] : null;
      var name = make("td"); name.appendChild(make("code", null, row[0]));
      name.appendChild(document.createTextNode(" " + row[1]));
      tr.appendChild(name);
      tr.appendChild(make("td", row[7] ? "err" : null, row[2]));
      tr.appendChild(make("td", row[7] ? "err" : null, row[3]));
      tr.appendChild(make("td", "num", number(row[4])));
      tr.appendChild(make("td", "num", number(row[5])));
      var where = make("td");
      if (src) { where.appendChild(make("code", null, src[0].split("/").pop() + ":" + src[1] + " " + src[2])); }
      tr.appendChild(where);
      if (row[7]) tr.title = row[7];
      table.appendChild(tr);
    });
    return table;
  }
  function partMeta(model, part) {
    var bits = [];
    if (part.in || part.out) bits.push(part.in + " -> " + part.out);
    if (part.shortcut) bits.push(W("shortcut") + ": " + part.shortcut);
    bits.push(W("params") + " " + number(part.params), W("macs") + " " + number(part.macs));
    if (part.add >= 0) { var s = model.sources[part.add]; bits.push("+ " + s[0] + ":" + s[1] + " " + s[2]); }
    return bits.join(" · ");
  }
  function showPanel(m, path, openBlock) {
    var model = DATA.models[m], panel = sections[m].querySelector(".panel");
    var index = model.nodes[path];
    panels[m] = [path, openBlock];
    clearMarks(m, ["selected"]);
    mark(m, path, "selected");
    panel.textContent = "";
    panel.hidden = false;
    var hint = sections[m].querySelector(".panel-hint"); if (hint) hint.hidden = true;
    var part = index == null || index < 0 ? null : model.parts[index];
    var title = make("h4");
    title.appendChild(make("code", null, path));
    panel.appendChild(title);
    if (!part) return;
    panel.setAttribute("data-part", String(index));
    var label = part.kind === "block" ? W("block") + " " + part.module : W(part.kind);
    panel.appendChild(make("p", "meta", label + " · " + partMeta(model, part)));
    if (part.run.length) {   // a folded run: one button per block, each opening its layers
      var g = nodeOf(m, path); if (g) g.classList.add("expanded");
      panel.setAttribute("data-run", String(part.run.length));
      panel.appendChild(make("p", "meta", "×" + part.run.length + " " + W("folded")));
      var list = make("div", "run");
      part.run.forEach(function (b) {
        var block = model.parts[b], button = make("button", null, block.module + "  " + partMeta(model, block));
        button.type = "button";
        button.setAttribute("data-block", block.module);
        var table = null;
        function toggle() {
          if (table) { table.remove(); table = null; return; }
          table = layerTable(model, block.layers);
          button.after(table);
        }
        button.addEventListener("click", toggle);
        list.appendChild(button);
        if (openBlock === block.module) { button.classList.add("found"); toggle(); }
      });
      panel.appendChild(list);
    } else {
      panel.appendChild(make("p", "meta", W("layers") + ": " + part.layers.length));
      panel.appendChild(layerTable(model, part.layers));
    }
  }

  // ------------------------------------------------------------------ search
  var index = [];   // [text, m, drawn path, block module to open]
  function buildIndex() {
    DATA.models.forEach(function (model, m) {
      var shownBy = {}, owner = {};
      Object.keys(model.nodes).forEach(function (p) {
        index.push([p, m, p, null]);
        var i = model.nodes[p];
        if (i >= 0 && (shownBy[i] === undefined || p === model.parts[i].module)) shownBy[i] = p;
      });
      model.parts.forEach(function (part, i) { part.run.forEach(function (b) { owner[b] = i; }); });
      model.parts.forEach(function (part, i) {
        var first = owner[i] !== undefined ? owner[i] : i, drawn = shownBy[first];
        if (drawn === undefined) return;
        var open = part.kind === "block" && owner[i] !== undefined ? part.module : null;
        index.push([part.module, m, drawn, open]);
        part.layers.forEach(function (row) { index.push([row[0], m, drawn, open]); });
      });
    });
  }
  function search(query, go) {
    var out = document.getElementById("search-result");
    query = query.trim();
    all(document, ".canvas g.hl-search").forEach(function (g) { g.classList.remove("hl-search"); });
    if (!query) { out.textContent = ""; return; }
    var exact = index.filter(function (e) { return e[0] === query; });
    var hits = exact.length ? exact : index.filter(function (e) { return e[0].indexOf(query) >= 0; });
    var seen = {};
    hits = hits.filter(function (e) { var k = e[1] + " " + e[2]; if (seen[k]) return false; seen[k] = 1; return true; });
    out.textContent = hits.length ? hits.length + " " + W("matches") : W("no_match");
    hits.forEach(function (e) { mark(e[1], e[2], "hl-search"); });
    if (go && hits.length) {
      var hit = hits[0], g = nodeOf(hit[1], hit[2]);
      if (g && viewers[hit[1]]) { sections[hit[1]].scrollIntoView({ block: "start" }); viewers[hit[1]].show([g]); }
      showPanel(hit[1], hit[2], hit[3]);
    }
  }

  // ------------------------------------------------------------------ language
  function setLanguage(next) {
    lang = next;
    document.documentElement.lang = lang;
    all(document, "[data-t]").forEach(function (e) { e.textContent = W(e.getAttribute("data-t")); });
    all(document, "[data-t-placeholder]").forEach(function (e) { e.placeholder = W(e.getAttribute("data-t-placeholder")); });
    all(document, "button.copy").forEach(function (b) { b.textContent = W("copy"); });
    panels.forEach(function (p, m) { if (p) showPanel(m, p[0], p[1]); });
  }

  // ------------------------------------------------------------------ wiring
  function copy(button) {
    var text = document.getElementById(button.getAttribute("data-copy")).textContent;
    function done() { button.textContent = W("copied"); setTimeout(function () { button.textContent = W("copy"); }, 1500); }
    function fallback() {
      var area = make("textarea"); area.value = text; document.body.appendChild(area);
      area.select(); try { document.execCommand("copy"); } finally { area.remove(); }
      done();
    }
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
  }

  sections.forEach(function (section, m) {
    var model = DATA.models[m];
    if (section.getAttribute("data-layout") === "browser" && model.graph && window.shapecheckLayout) {
      window.shapecheckLayout(model.graph, section.querySelector(".canvas"), m ? "m" + m + "/" : "");
    }
    viewers[m] = Viewer(m);
    all(section, "li.finding").forEach(function (li) {
      var k = Number(li.getAttribute("data-finding")), i = findings.length;
      findings.push({ m: m, k: k, li: li });
      li.addEventListener("click", function (e) { if (!e.target.closest("a, button")) selectFinding(i); });
    });
    var canvas = section.querySelector(".canvas");
    canvas.addEventListener("click", function (e) {
      if (canvas.dataset.dragged) { delete canvas.dataset.dragged; return; }
      var g = e.target.closest("g.node");
      if (g) showPanel(m, g.getAttribute("data-path"), null);
    });
  });
  all(document, "button.copy").forEach(function (b) {
    b.addEventListener("click", function (e) { e.stopPropagation(); copy(b); });
  });
  buildIndex();
  var box = document.getElementById("search");
  box.addEventListener("input", function () { search(box.value, false); });
  box.addEventListener("keydown", function (e) { if (e.key === "Enter") search(box.value, true); });
  document.getElementById("lang").addEventListener("click", function () { setLanguage(lang === "zh" ? "en" : "zh"); });
  document.addEventListener("keydown", function (e) {
    if (e.target.closest && e.target.closest("input, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "n") selectFinding(current + 1);
    else if (e.key === "p") selectFinding(current < 0 ? -1 : current - 1);
    else if (e.key === "/") { e.preventDefault(); box.focus(); }
  });
  document.body.setAttribute("data-ready", "1");
})();
