import { createMesh, type Mesh } from "@weft/inprocess";
import { createOrderServiceClient } from "../../examples/shop/src/gen/shop/orders/v1/orders_weft.ts";
import { Traffic } from "../../examples/shop/src/loadgen/traffic.ts";
import { type MetricsSource, Monitor, type RowSpec } from "./monitor.ts";
import type { DemoOptions } from "./options.ts";
import type { Processes } from "./processes.ts";
import { type Shop, type SidecarWorkload, startShop } from "./shop.ts";
import { type Verdict, verdict } from "./verdict.ts";
import { bold, renderLine, renderScreen } from "./view.ts";

export interface RunContext {
  readonly options: DemoOptions;
  readonly dir: string;
  readonly processes: Processes;
  /** Aborted by Ctrl-C / SIGTERM. */
  readonly signal: AbortSignal;
  readonly out: (line: string) => void;
  readonly tty: boolean;
}

/** Everything the demo started in this process, for the caller to close whatever happens. */
export interface Started {
  shop?: Shop;
  loadgen?: Mesh;
  traffic?: Traffic;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

/** A data plane's admin /metrics; the port is read each time (a restarted replica keeps its own). */
const httpSource = (name: string, port: () => number, path = "/metrics"): (() => MetricsSource) => {
  let cached: MetricsSource | undefined;
  let cachedPort = -1;
  return () => {
    if (!cached || cachedPort !== port()) {
      cachedPort = port();
      const url = `http://127.0.0.1:${cachedPort}${path}`;
      cached = {
        name,
        url,
        read: async () => {
          const res = await fetch(url, { signal: AbortSignal.timeout(800) });
          if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
          return res.text();
        },
      };
    }
    return cached;
  };
};

/**
 * Runs the demo: starts the shop, the traffic generator, the live view and the scripted
 * fault; returns the verdict. The caller stops what `started` holds, even on a throw.
 */
export async function runDemo(ctx: RunContext, started: Started): Promise<Verdict> {
  const { options, signal, out } = ctx;
  const t0 = performance.now();
  const log = (s: string) => out(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${s}`);
  log("starting the example shop (examples/shop): control plane, 3 services, 4 processes with sidecars");
  const unexpected: string[] = [];
  let event: (s: string) => void = log;
  const shop = await startShop(ctx.dir, ctx.processes, log, (child, code, sig) => {
    const tail = child.output().trim().split("\n").slice(-3).join(" / ");
    const what = `${child.name} (pid ${child.pid}) exited unexpectedly (${code ?? sig}): ${tail.slice(0, 300)}`;
    unexpected.push(what);
    event(what);
  });
  started.shop = shop;
  const ordersPorts = shop.orders.ready.ports as { mesh: number; admin: number };
  log(
    `orders: in-process mesh :${ordersPorts.mesh}, admin :${ordersPorts.admin} (mTLS as ${shop.orders.ready.identity})`,
  );

  const loadgen = await createMesh({
    service: "loadgen",
    namespace: "shop",
    controlPlane: { url: shop.cp.url, token: await shop.tokenFor("loadgen") },
  });
  started.loadgen = loadgen;
  const client = createOrderServiceClient(loadgen);
  await warmUp(() => client.getQuote({ sku: "tea-sencha", quantity: 1 }), signal);
  log(`traffic generator joined as ${loadgen.health().identity}; first quote answered`);
  if (signal.aborted) return verdict({ aborted: true });

  const sources = {
    loadgen: {
      name: "loadgen",
      url: "(in the demo process: mesh.metrics())",
      read: () => loadgen.metrics(),
    } satisfies MetricsSource,
    orders: httpSource("orders", () => ordersPorts.admin),
    catalog: httpSource("catalog", () => shop.catalog.adminPort),
  };
  const replicaSource = new Map(
    shop.inventory.map((w) => [w.name, httpSource(w.name, () => w.adminPort)] as const),
  );
  const sidecarRow = (w: SidecarWorkload, protocol: string, source: () => MetricsSource): RowSpec => ({
    name: w.name,
    mode: "sidecar",
    protocol,
    identity: () => w.files.spiffeId,
    served: { source, filter: { place: "sidecar-inbound", service: w.service } },
    retriedBy: { source: sources.orders, filter: { place: "client", service: w.service } },
  });
  const rows: RowSpec[] = [
    {
      name: "loadgen",
      mode: "in-process",
      protocol: "Connect",
      identity: () => loadgen.health().identity ?? "-",
      served: { source: () => sources.loadgen, filter: { place: "client", service: "orders" } },
      retriedBy: { source: () => sources.loadgen, filter: { place: "client", service: "orders" } },
    },
    {
      name: "orders",
      mode: "in-process",
      protocol: "Connect",
      identity: () => String(shop.orders.ready.identity ?? "-"),
      served: { source: sources.orders, filter: { place: "server", service: "orders" } },
      retriedBy: { source: () => sources.loadgen, filter: { place: "client", service: "orders" } },
    },
    sidecarRow(shop.catalog, "REST", sources.catalog),
    ...shop.inventory.map((w) => sidecarRow(w, "gRPC", replicaSource.get(w.name) as () => MetricsSource)),
  ];
  const monitor = new Monitor(rows);
  const traffic = new Traffic(client, { rps: options.rps });
  started.traffic = traffic;
  await monitor.sample();
  traffic.start();
  const trafficStart = performance.now();
  log(
    `traffic: ${options.rps} quotes/s${options.durationS ? ` for ${options.durationS} s` : " until Ctrl-C"}`,
  );

  const victim = shop.inventory[1] as SidecarWorkload;
  const fault = {
    atS: options.durationS ? options.durationS * 0.4 : 20,
    downS: options.durationS ? Math.min(3, Math.max(1, options.durationS * 0.15)) : 4,
    killedAtS: undefined as number | undefined,
    restartedAtS: undefined as number | undefined,
    failedBefore: 0,
    retriesBefore: 0,
    ejectionsBefore: 0,
    restart: undefined as Promise<void> | undefined,
    error: undefined as string | undefined,
  };
  const events: string[] = [];
  event = (s: string) => {
    events.push(`${elapsed().toFixed(1).padStart(5)} s  ${s}`);
    if (!ctx.tty) out(`  -- ${s}`);
  };
  const elapsed = () => (performance.now() - trafficStart) / 1000;
  const inventoryRetries = () => monitor.row(shop.inventory[0]?.name ?? "")?.retries ?? 0;
  const inventoryEjections = () => monitor.row(shop.inventory[0]?.name ?? "")?.ejections ?? 0;

  const metricsUrls: [string, string][] = [
    [
      "control plane",
      `${shop.cp.url} (weft status --server ${shop.cp.url} --admin-token-file ${shop.cp.adminTokenFile})`,
    ],
    ["loadgen", sources.loadgen.url],
    ["orders", `http://127.0.0.1:${ordersPorts.admin}/metrics  (/traffic, /health)`],
    ["catalog", `http://127.0.0.1:${shop.catalog.adminPort}/metrics  (/stats, /config_dump)`],
    ...shop.inventory.map(
      (w) => [w.name, `http://127.0.0.1:${w.adminPort}/metrics  (/stats, /config_dump)`] as [string, string],
    ),
  ];
  if (ctx.tty) out("\x1b[?25l\x1b[2J");

  let lastLine = 0;
  while (!signal.aborted) {
    await sleep(1000 - ((performance.now() - trafficStart) % 1000), signal);
    if (signal.aborted) break;
    await monitor.sample();
    const now = elapsed();
    if (fault.killedAtS === undefined && now >= fault.atS) {
      fault.failedBefore = traffic.failed;
      fault.retriesBefore = inventoryRetries();
      fault.ejectionsBefore = inventoryEjections();
      await shop.crash(victim);
      fault.killedAtS = elapsed();
      event(
        `fault: killed ${victim.name} (app pid ${victim.app.pid} and sidecar pid ${victim.sidecar.pid}, SIGKILL)`,
      );
    } else if (fault.killedAtS !== undefined && !fault.restart && now >= fault.killedAtS + fault.downS) {
      event(`restarting ${victim.name} on the same ports`);
      fault.restart = shop.restart(victim).then(
        () => {
          fault.restartedAtS = elapsed();
          event(`${victim.name} is back (app pid ${victim.app.pid}, sidecar pid ${victim.sidecar.pid})`);
        },
        (e: Error) => {
          fault.error = e.message;
          event(`restart of ${victim.name} failed: ${e.message.split("\n")[0]}`);
        },
      );
    }
    const e2e = traffic.window(5);
    const footer = [
      `${bold("shopper, end to end")} (last 5 s): ${e2e.ok + e2e.failed} calls, ${e2e.failed} failed, p50 ${e2e.p50Ms.toFixed(2)} ms, p99 ${e2e.p99Ms.toFixed(2)} ms;  whole run: ${traffic.ok} ok, ${traffic.failed} failed`,
      fault.killedAtS === undefined
        ? `${bold("scripted fault")}: ${victim.name} will be killed at ${fault.atS.toFixed(0)} s and restarted ${fault.downS.toFixed(0)} s later`
        : `${bold("scripted fault")}: ${victim.name} killed at ${fault.killedAtS.toFixed(1)} s${fault.restartedAtS ? `, back at ${fault.restartedAtS.toFixed(1)} s` : ""}; since then callers saw ${traffic.failed - fault.failedBefore} failures; retries to inventory ${inventoryRetries() - fault.retriesBefore}, ejections ${inventoryEjections() - fault.ejectionsBefore}`,
      "",
      ...events.slice(-5),
    ];
    const view = {
      title: "Weft demo: the example shop",
      elapsedS: now,
      durationS: options.durationS,
      monitor,
      footer,
      metricsUrls,
    };
    if (ctx.tty) out(renderScreen(view));
    else if (now - lastLine >= 0.999) {
      lastLine = now;
      out(renderLine(view));
    }
    if (options.durationS && now >= options.durationS) break;
  }
  if (ctx.tty) out("\x1b[?25h");
  await traffic.stop();
  await fault.restart;
  await monitor.sample();
  const served = (name: string) => monitor.row(name)?.total.requests ?? 0;
  return verdict({
    aborted: signal.aborted && options.durationS !== undefined,
    seconds: elapsed(),
    ok: traffic.ok,
    failed: traffic.failed,
    errors: traffic.errors,
    replicas: traffic.replicas,
    inProcessServed: served("orders"),
    sidecarServed: {
      catalog: served(shop.catalog.name),
      ...Object.fromEntries(shop.inventory.map((w) => [w.name, served(w.name)])),
    },
    fault: {
      victim: victim.name,
      killedAtS: fault.killedAtS,
      restartedAtS: fault.restartedAtS,
      error: fault.error,
      failuresSeen: traffic.failed - fault.failedBefore,
      retries: inventoryRetries() - fault.retriesBefore,
      ejections: inventoryEjections() - fault.ejectionsBefore,
    },
    retries:
      inventoryRetries() + (monitor.row("loadgen")?.retries ?? 0) + (monitor.row("catalog")?.retries ?? 0),
    unexpectedExits: unexpected,
  });
}

/** Calls until one succeeds: the mesh members learn of each other through the control plane. */
async function warmUp(call: () => Promise<unknown>, signal: AbortSignal, timeoutMs = 20_000): Promise<void> {
  const started = performance.now();
  let last: unknown;
  while (!signal.aborted && performance.now() - started < timeoutMs) {
    try {
      await call();
      return;
    } catch (e) {
      last = e;
      await sleep(100, signal);
    }
  }
  if (!signal.aborted)
    throw new Error(`no quote was answered within ${timeoutMs} ms; last error: ${(last as Error)?.message}`);
}
