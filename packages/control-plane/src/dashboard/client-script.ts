/**
 * The browser side of the dashboard: follows `/api/events` (Server-Sent Events, one JSON
 * Overview per change; EventSource reconnects by itself), keeps one cytoscape graph up to
 * date in place (window.weftGraph), and redraws the tables. Text goes in through
 * textContent or cytoscape's canvas labels, never markup: service names come from data planes.
 */
export const CLIENT_SCRIPT = `"use strict";
(function () {
  var live = document.getElementById("live");
  var lastSeen = 0;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (attrs[k] !== undefined) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function health(rate) {
    if (rate === null || rate === undefined) return "idle";
    return rate >= 0.99 ? "ok" : rate >= 0.95 ? "warn" : "bad";
  }
  function num(n) {
    return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
  }
  function rps(n) { return num(n) + "/s"; }
  function pct(r) { return r === null ? "–" : (r * 100).toFixed(2) + "%"; }
  function ms(v) { return v === null ? "–" : num(v) + " ms"; }
  function span(msLeft) {
    var m = Math.round(Math.abs(msLeft) / 60000);
    var text = m >= 2880 ? Math.round(m / 1440) + "d" : m >= 60 ? Math.floor(m / 60) + "h " + (m % 60) + "m" : m + "m";
    return msLeft >= 0 ? "in " + text : "expired " + text + " ago";
  }
  // Colours of the page's CSS: cytoscape draws on a canvas and cannot read CSS variables.
  var COLOURS = { ok: "#1a7f37", warn: "#b58100", bad: "#cf222e", idle: "#8c959f" };
  var graphStyle = [
    { selector: "node", style: {
      "background-color": "#fff", "border-width": 3, "border-color": COLOURS.idle, width: 30, height: 30,
      label: "data(label)", "text-wrap": "wrap", "text-valign": "bottom", "text-margin-y": 5,
      "font-size": 14, "font-family": "system-ui, sans-serif", color: "#1f2328", "line-height": 1.3,
    } },
    { selector: "edge", style: {
      width: 2, "curve-style": "bezier", "control-point-step-size": 60, "line-color": COLOURS.idle,
      "target-arrow-shape": "triangle", "target-arrow-color": COLOURS.idle, "arrow-scale": 1.2,
      label: "data(label)", "font-size": 13, "font-family": "system-ui, sans-serif", color: "#1f2328",
      "text-rotation": "autorotate", "text-margin-y": -9,
      "text-background-color": "#fff", "text-background-opacity": 0.85, "text-background-padding": 1,
      "loop-direction": "-45deg", "loop-sweep": "-90deg",
    } },
  ];
  Object.keys(COLOURS).forEach(function (h) {
    graphStyle.push({ selector: 'node[health = "' + h + '"]', style: { "border-color": COLOURS[h] } });
    graphStyle.push({ selector: 'edge[health = "' + h + '"]', style: { "line-color": COLOURS[h], "target-arrow-color": COLOURS[h] } });
  });
  var container = document.getElementById("graph");
  var cy = cytoscape({
    container: container,
    style: graphStyle,
    // Scrolling the page must not zoom the graph; and a fit never blows two nodes up to poster size.
    userZoomingEnabled: false,
    boxSelectionEnabled: false,
    autoungrabify: true,
    maxZoom: 1.2,
  });
  window.weftGraph = cy;
  cy.on("mouseover", "node, edge", function (e) { container.title = e.target.data("detail"); });
  cy.on("mouseout", "node, edge", function () { container.title = ""; });

  function byId(a, b) { return a.id() < b.id() ? -1 : a.id() > b.id() ? 1 : 0; }

  /** Brings the graph to \`o\` in place; the layout runs again only when nodes or edges come or go. */
  function drawGraph(o) {
    var namespaces = {};
    o.services.forEach(function (s) { namespaces[s.namespace] = true; });
    var manyNamespaces = Object.keys(namespaces).length > 1;
    var wanted = {};
    o.services.forEach(function (s) {
      var second = [manyNamespaces ? s.namespace : "", s.mode].filter(Boolean).join(" · ");
      wanted[s.id] = { group: "nodes", fixed: { id: s.id }, data: {
        service: s.id, mode: s.mode, health: health(s.successRate),
        label: s.name + (second ? "\\n" + second : ""),
        detail: s.id + (s.mode ? " (" + s.mode + ")" : "") + ": " + rps(s.requestsPerSecond) + " in, " + pct(s.successRate) + " success",
      } };
    });
    o.edges.forEach(function (e) {
      var rate = e.requests > 0 ? e.successRate : null;
      var id = e.from + " -> " + e.to;
      wanted[id] = { group: "edges", fixed: { id: id, source: e.from, target: e.to }, data: {
        health: health(rate),
        requestsPerSecond: e.requestsPerSecond, successRate: rate,
        label: rps(e.requestsPerSecond) + " · " + pct(rate),
        detail: e.from + " → " + e.to + ": " + rps(e.requestsPerSecond) + ", " + pct(rate) + " success, p99 " + ms(e.requests > 0 ? e.p99Ms : null),
      } };
    });
    var changed = false;
    cy.batch(function () {
      cy.elements().forEach(function (ele) {
        var w = wanted[ele.id()];
        // An edge whose ends were removed goes with them; skip what is already gone.
        if (ele.removed()) return;
        if (!w) { cy.remove(ele); changed = true; return; }
        ele.data(w.data);
        delete wanted[ele.id()];
      });
      // id, source and target are fixed at creation: cytoscape refuses to change them later.
      var fresh = Object.keys(wanted).map(function (k) {
        var w = wanted[k];
        for (var f in w.fixed) w.data[f] = w.fixed[f];
        return { group: w.group, data: w.data };
      });
      // Nodes before edges: an edge needs both ends.
      fresh.sort(function (a, b) { return a.group === b.group ? 0 : a.group === "nodes" ? -1 : 1; });
      if (fresh.length > 0) { cy.add(fresh); changed = true; }
    });
    if (changed) {
      // Elements in id order, so the same mesh is laid out the same way however it arrived.
      // Callers left of the services they call: horizontal edges leave room for their labels.
      cy.elements().sort(byId).layout({
        name: "breadthfirst", directed: true, nodeDimensionsIncludeLabels: true, spacingFactor: 2.2,
        padding: 24, animate: false, fit: true,
        transform: function (node, p) { return { x: p.y, y: p.x }; },
      }).run();
    }
  }

  function fillTable(id, rows, columns, emptyText) {
    var body = document.querySelector("#" + id + " tbody");
    body.replaceChildren();
    if (rows.length === 0) {
      var tr = el("tr");
      tr.appendChild(el("td", { colspan: columns, class: "empty" }, emptyText));
      body.appendChild(tr);
      return;
    }
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function cell(text, cls) { return el("td", cls ? { class: cls } : {}, text); }

  function drawServices(o) {
    fillTable("services", o.services.map(function (s) {
      var tr = el("tr", { "data-service": s.id });
      var name = el("td");
      name.appendChild(el("span", { class: "ns" }, s.namespace + "/"));
      name.appendChild(document.createTextNode(s.name));
      tr.appendChild(name);
      tr.appendChild(cell(s.mode || "–"));
      tr.appendChild(cell(String(s.endpoints), "num endpoints"));
      tr.appendChild(cell(String(s.dataPlanes), "num data-planes"));
      tr.appendChild(cell(rps(s.requestsPerSecond), "num rps"));
      tr.appendChild(cell(pct(s.successRate), "num success " + health(s.successRate)));
      tr.appendChild(cell(ms(s.p99Ms), "num p99"));
      return tr;
    }), 7, "no services yet");
  }

  function drawDataPlanes(o) {
    fillTable("data-planes", o.dataPlanes.map(function (d) {
      var tr = el("tr", { "data-instance": d.service + "#" + d.instanceId });
      tr.appendChild(cell(d.service));
      tr.appendChild(cell(d.instanceId));
      tr.appendChild(cell(d.mode || "–"));
      tr.appendChild(cell(d.ackedVersion || "–", "version"));
      var state = el("td", { class: "state" });
      state.appendChild(el("span", { class: "state-" + d.state }, d.state === "NACK" ? "NACK " + d.nackedVersion : d.state));
      if (d.state === "NACK") state.appendChild(el("span", { class: "reason" }, d.nackReason));
      tr.appendChild(state);
      if (d.certificateExpiryMs === null) tr.appendChild(cell("–", "expiry"));
      else {
        var left = d.certificateExpiryMs - o.generatedAtMs;
        var iso = new Date(d.certificateExpiryMs).toISOString().slice(0, 16).replace("T", " ") + "Z";
        var expiry = cell(iso, "expiry" + (left < 3600000 ? " expiring" : ""));
        expiry.appendChild(el("span", { class: "rel" }, span(left)));
        tr.appendChild(expiry);
      }
      return tr;
    }), 6, "no data plane connected");
  }

  function render(o) {
    drawGraph(o);
    drawServices(o);
    drawDataPlanes(o);
    document.getElementById("window").textContent = "(last " + Math.round(o.windowMs / 1000) + " s)";
    document.getElementById("summary").textContent =
      "config revision " + o.configRevision + " · " + o.services.length + " services · " +
      o.dataPlanes.length + " data planes" + (o.replica ? " · replica " + o.replica : "");
    lastSeen = Date.now();
    live.textContent = "live " + new Date(o.generatedAtMs).toLocaleTimeString();
    live.classList.remove("stale");
  }

  var events = new EventSource("/api/events");
  events.addEventListener("overview", function (m) { render(JSON.parse(m.data)); });
  events.addEventListener("error", function () {
    live.textContent = "reconnecting…";
    live.classList.add("stale");
  });
  // The server repeats itself at least every heartbeat; silence past that means trouble.
  setInterval(function () {
    if (lastSeen && Date.now() - lastSeen > 40000) live.classList.add("stale");
  }, 5000);
})();
`;
