/**
 * The dashboard's static page: markup and style. Data arrives as JSON (see overview.ts)
 * and is drawn by client-script.ts, the graph with cytoscape; nothing here depends on the mesh.
 *
 * The stylesheet link carries the id cytoscape looks for before inserting an inline
 * <style> of its own, which the Content-Security-Policy (style-src 'self') would refuse;
 * the one rule it would add (a positioned container) is in PAGE_CSS instead.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weft dashboard</title>
<link rel="stylesheet" href="/dashboard.css" id="__________cytoscape_stylesheet">
<script src="/assets/cytoscape.min.js" defer></script>
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>Weft</h1>
  <span id="summary">connecting…</span>
  <span id="live" class="live stale" title="Server-Sent Events from the control plane">offline</span>
</header>
<main>
  <section>
    <h2>Service graph <small id="window"></small></h2>
    <div id="graph" role="img" aria-label="service graph: callers point at the services they call, labelled with requests per second and success rate"></div>
    <p class="legend"><span class="ok">■</span> ≥ 99% success <span class="warn">■</span> ≥ 95% <span class="bad">■</span> below <span class="idle">■</span> no traffic</p>
  </section>
  <section>
    <h2>Services</h2>
    <table id="services">
      <thead><tr><th>Service</th><th>Mode</th><th class="num">Endpoints</th><th class="num">Data planes</th><th class="num">Requests/s</th><th class="num">Success</th><th class="num">p99</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="wide">
    <h2>Data planes</h2>
    <table id="data-planes">
      <thead><tr><th>Service</th><th>Instance</th><th>Mode</th><th>Config version</th><th>Status</th><th>Certificate expiry</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
</body>
</html>
`;

export const PAGE_CSS = `:root {
  --ok: #1a7f37; --warn: #b58100; --bad: #cf222e; --idle: #8c959f;
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
}
body { margin: 0; background: var(--bg); }
header { display: flex; gap: 16px; align-items: baseline; padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
#summary { color: var(--muted); flex: 1; }
.live { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #dafbe1; color: var(--ok); }
.live.stale { background: #ffebe9; color: var(--bad); }
main { display: grid; grid-template-columns: minmax(360px, 1fr) minmax(480px, 1.4fr); gap: 16px; padding: 16px 24px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; min-width: 0; overflow-x: auto; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 0 0 8px; }
h2 small { color: var(--muted); font-weight: normal; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.empty { color: var(--muted); font-style: italic; }
.ns { color: var(--muted); }
.state-ACK { color: var(--ok); font-weight: 600; }
.state-NACK { color: var(--bad); font-weight: 600; }
.state-PENDING { color: var(--warn); font-weight: 600; }
.reason { display: block; color: var(--bad); font-size: 12px; white-space: normal; max-width: 340px; }
.expiring { color: var(--bad); }
.rel { display: block; color: var(--muted); font-size: 12px; }
#graph { position: relative; width: 100%; height: 400px; }
.legend { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
`;
