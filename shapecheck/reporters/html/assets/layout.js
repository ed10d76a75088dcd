// Without Graphviz's dot: lay the block graph out with the bundled dagre and draw it as SVG
// with the same classes and ids as dot's drawing, so the rest of the page cannot tell.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg", LINE = 13, PAD = 8;
  var measure = document.createElement("canvas").getContext("2d");

  function width(text, bold) {
    measure.font = (bold ? "bold " : "") + "10px Helvetica, Arial, sans-serif";
    return measure.measureText(text).width;
  }
  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, value, cls) {
    var t = el("text", { x: x, y: y, "text-anchor": "middle" }, parent);
    if (cls) t.setAttribute("class", cls);
    t.textContent = value;
    return t;
  }
  function flagClass(flags) { return flags === 1 ? " err" : flags === 2 ? " warn" : ""; }

  window.shapecheckLayout = function (graph, canvas, prefix) {
    var g = new dagre.graphlib.Graph({ compound: true });
    g.setGraph({ rankdir: "TB", nodesep: 20, ranksep: 26, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(function () { return {}; });
    graph.clusters.forEach(function (c, i) { g.setNode("cluster " + i, { label: c[0], kind: c[2] }); });
    graph.clusters.forEach(function (c, i) { if (c[1] >= 0) g.setParent("cluster " + i, "cluster " + c[1]); });
    graph.nodes.forEach(function (n) {
      var rows = [[n[2], "title"]].concat(n[3].map(function (l) { return [l, ""]; }));
      n[4].forEach(function (note) { note.split("\n").forEach(function (l) { rows.push([l, "note"]); }); });
      var w = Math.max.apply(null, rows.map(function (r) { return width(r[0], r[1] === "title"); }));
      var add = n[1] === "add" && rows.length === 1;
      g.setNode(n[0], { rows: rows, kind: n[1], flags: n[5],
                        width: add ? 26 : w + 2 * PAD, height: add ? 26 : rows.length * LINE + PAD });
      if (n[6] >= 0) g.setParent(n[0], "cluster " + n[6]);
    });
    graph.edges.forEach(function (e) {
      var label = e[3] ? e[3].split("\n") : [];
      g.setEdge(e[0], e[1], { kind: e[2], flags: e[4], lines: label, labelpos: "r", labeloffset: 4,
        width: label.length ? Math.max.apply(null, label.map(function (l) { return width(l, false) * 0.9; })) : 0,
        height: label.length * 11 });
    });
    dagre.layout(g);

    var size = g.graph();
    var svg = el("svg", { "class": "graph drawn", viewBox: "0 0 " + size.width + " " + size.height });
    var defs = el("defs", {}, svg), marker = el("marker", { id: prefix + "arrow", viewBox: "0 0 10 10",
      refX: "9", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto" }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z" }, marker);
    var layers = [el("g", {}, svg), el("g", {}, svg), el("g", {}, svg)];
    g.nodes().forEach(function (name) {
      var v = g.node(name);
      if (name.indexOf("cluster ") !== 0) return;
      var c = el("g", { "class": "cluster k-" + v.kind, "data-cluster": name }, layers[0]);
      el("rect", { x: v.x - v.width / 2, y: v.y - v.height / 2, width: v.width, height: v.height, rx: 6 }, c);
      var t = text(c, v.x - v.width / 2 + 6, v.y - v.height / 2 + 11, v.label);
      t.setAttribute("text-anchor", "start");
    });
    g.edges().forEach(function (e) {
      var d = g.edge(e), pts = d.points;
      var group = el("g", { "class": "edge k-" + d.kind + flagClass(d.flags), "data-from": e.v, "data-to": e.w }, layers[1]);
      el("path", { d: "M" + pts.map(function (p) { return p.x + "," + p.y; }).join(" L"),
                   "marker-end": "url(#" + prefix + "arrow)" }, group);
      d.lines.forEach(function (line, i) {
        var t = text(group, d.x + 2, d.y + i * 11 - (d.lines.length - 1) * 5.5 + 3, line);
        t.setAttribute("text-anchor", "start");
      });
    });
    g.nodes().forEach(function (name) {
      var v = g.node(name);
      if (name.indexOf("cluster ") === 0) return;
      var group = el("g", { "class": "node k-" + v.kind + flagClass(v.flags), id: prefix + name,
                            "data-path": name }, layers[2]);
      el("title", {}, group).textContent = name;
      el("rect", { x: v.x - v.width / 2, y: v.y - v.height / 2, width: v.width, height: v.height,
                   rx: v.kind === "add" ? v.width / 2 : 4 }, group);
      var top = v.y - v.height / 2 + PAD / 2 + 10;
      v.rows.forEach(function (row, i) {
        var cls = v.kind === "add" && i === 0 ? "title add" : row[1];
        text(group, v.x, v.kind === "add" && v.rows.length === 1 ? v.y + 4 : top + i * LINE, row[0], cls);
      });
    });
    canvas.textContent = "";
    canvas.appendChild(svg);
  };
})();
