/**
 * The browser side of the dashboard: follows `/api/events` (Server-Sent Events, one JSON
 * Overview per change; EventSource reconnects by itself) and redraws the graph and tables.
 * Positions come computed from the server (graph-layout.ts), so this only creates elements.
 * Text goes in through textContent, never markup: service names come from data planes.
 */
export const CLIENT_SCRIPT = `"use strict";
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var live = document.getElementById("live");
  var lastSeen = 0;

  function el(tag, attrs, text) {
    var e = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
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
  function splitId(id) {
    var i = id.indexOf("/");
    return { ns: id.slice(0, i), name: id.slice(i + 1) };
  }

  function drawGraph(o) {
    var svg = document.getElementById("graph");
    var g = o.graph;
    svg.replaceChildren();
    svg.setAttribute("viewBox", "0 0 " + g.width + " " + g.height);
    var defs = el("svg:defs");
    ["ok", "warn", "bad", "idle"].forEach(function (c) {
      var m = el("svg:marker", { id: "arrow-" + c, viewBox: "0 0 10 10", refX: 2, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
      m.appendChild(el("svg:path", { d: "M 0 0 L 10 5 L 0 10 z", class: c }));
      defs.appendChild(m);
    });
    svg.appendChild(defs);
    var traffic = {};
    o.edges.forEach(function (e) { traffic[e.from + " " + e.to] = e; });
    var inbound = {};
    o.services.forEach(function (s) { inbound[s.id] = s; });
    g.edges.forEach(function (le) {
      var e = traffic[le.from + " " + le.to];
      var c = health(e && e.requests > 0 ? e.successRate : null);
      var group = el("svg:g", { class: "edge", "data-from": le.from, "data-to": le.to });
      group.appendChild(el("svg:title", {}, le.from + " → " + le.to + ": " + rps(e.requestsPerSecond) + ", " + pct(e.requests > 0 ? e.successRate : null) + " success, p99 " + ms(e.requests > 0 ? e.p99Ms : null)));
      group.appendChild(el("svg:path", { d: le.path, class: c, "marker-end": "url(#arrow-" + c + ")" }));
      group.appendChild(el("svg:text", { x: le.labelX, y: le.labelY, class: "label" }, rps(e.requestsPerSecond) + " · " + pct(e.requests > 0 ? e.successRate : null)));
      svg.appendChild(group);
    });
    var namespaces = {};
    g.nodes.forEach(function (n) { namespaces[splitId(n.id).ns] = true; });
    var manyNamespaces = Object.keys(namespaces).length > 1;
    g.nodes.forEach(function (n) {
      var s = inbound[n.id];
      var parts = splitId(n.id);
      var group = el("svg:g", { class: "node", "data-service": n.id });
      group.appendChild(el("svg:title", {}, n.id + (s && s.mode ? " (" + s.mode + ")" : "")));
      group.appendChild(el("svg:circle", { cx: n.x, cy: n.y, r: g.nodeRadius, class: health(s ? s.successRate : null) }));
      // Above a node the namespace goes first, so neither line runs into the circle.
      var above = n.labelY < n.y - g.nodeRadius;
      var nameY = manyNamespaces && above ? n.labelY - 13 : n.labelY;
      group.appendChild(el("svg:text", { x: n.labelX, y: nameY, "text-anchor": n.anchor }, parts.name));
      if (manyNamespaces)
        group.appendChild(el("svg:text", { x: n.labelX, y: above ? n.labelY : nameY + 13, "text-anchor": n.anchor, class: "ns" }, parts.ns));
      svg.appendChild(group);
    });
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
