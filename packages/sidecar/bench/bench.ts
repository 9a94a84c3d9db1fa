// `npm run bench -w @weft/sidecar`: direct vs one sidecar hop vs two, and HAProxy in the same
// places, on loopback, in interleaved rounds. Writes bench/results/latest.json and the README table.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCsr, createRootCa, exportPrivateKeyPem, generateKeyPair, signLeaf } from "@weft/core";
import { PROGRAM_V8_FLAGS } from "../build/v8-flags.ts";
import { h2load, type LoadResult } from "./h2load.ts";
import { appConfig, proxyConfig } from "./haproxy.ts";
import { freePort, Processes, rssMiB, waitForPort } from "./processes.ts";

const PKG = fileURLToPath(new URL("..", import.meta.url));
const PROGRAM = join(PKG, "dist", "weft-sidecar.mjs");
const ROUNDS = Number(process.env.WEFT_BENCH_ROUNDS ?? 3);
const SAT_SECONDS = Number(process.env.WEFT_BENCH_SECONDS ?? 4);
const FIXED_RPS = Number(process.env.WEFT_BENCH_RPS ?? 1000);
const FIXED_CLIENTS = 10;

export interface Scenario {
  readonly name: string;
  readonly hops: 0 | 1 | 2;
  readonly proxy: "none" | "haproxy" | "weft" | "node";
  readonly url: string;
  readonly h1: boolean;
  readonly headers?: string[];
  /** The proxy processes, for RSS. */
  readonly pids: number[];
}

function ensureSystemDeps(): void {
  const script = join(PKG, "..", "..", "tools", "scripts", "ensure-system-deps.sh");
  const r = spawnSync("bash", [script], { stdio: "inherit" });
  if (r.status !== 0)
    throw new Error("bench: haproxy and h2load are needed (tools/scripts/ensure-system-deps.sh failed)");
}

/** Mesh PKI: one CA, a certificate per member (PEM files; HAProxy takes certificate and key in one). */
export async function writePki(dir: string): Promise<void> {
  const ca = await createRootCa({
    trustDomain: "weft.local",
    notBefore: Date.now() - 3_600_000,
    notAfter: Date.now() + 86_400_000,
  });
  writeFileSync(join(dir, "ca.pem"), ca.certificate.toString("pem"));
  for (const name of ["web", "orders"]) {
    const spiffeId = `spiffe://weft.local/ns/shop/sa/${name}`;
    const keys = await generateKeyPair();
    const leaf = await signLeaf({
      csr: await createCsr({ keys, spiffeId }),
      ca,
      spiffeId,
      notBefore: Date.now() - 3_600_000,
      notAfter: Date.now() + 43_200_000,
    });
    const key = await exportPrivateKeyPem(keys.privateKey);
    writeFileSync(join(dir, `${name}.pem`), leaf.toString("pem"));
    writeFileSync(join(dir, `${name}.key`), key);
    writeFileSync(join(dir, `${name}.haproxy.pem`), `${leaf.toString("pem")}\n${key}`);
  }
}

export function meshYaml(endpointPort: number): string {
  return `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports: [{ name: http, port: 8080, protocol: PROTOCOL_HTTP1 }]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${endpointPort} }]
`;
}

export async function sidecar(
  procs: Processes,
  dir: string,
  name: string,
  o: {
    service: string;
    config: string;
    appPort: number;
    inbound: number;
    outbound: number;
    localPort?: number;
    tls?: string;
    extraArgs?: readonly string[];
  },
): Promise<number> {
  const admin = await freePort();
  // As the program runs when started as `weft-sidecar` (its shebang's flags).
  const args = [
    ...PROGRAM_V8_FLAGS,
    PROGRAM,
    "run",
    "--config",
    o.config,
    "--service",
    o.service,
    "--namespace",
    "shop",
    "--app-port",
    String(o.appPort),
    "--inbound",
    `127.0.0.1:${o.inbound}`,
    "--outbound",
    `127.0.0.1:${o.outbound}`,
    "--admin",
    `127.0.0.1:${admin}`,
  ];
  if (o.localPort) args.push("--local-port", `orders.shop=${o.localPort}`);
  if (o.tls)
    args.push(
      "--cert",
      join(dir, `${o.tls}.pem`),
      "--key",
      join(dir, `${o.tls}.key`),
      "--ca",
      join(dir, "ca.pem"),
    );
  if (o.extraArgs) args.push(...o.extraArgs);
  const child = procs.start(name, process.execPath, args);
  await waitForPort(admin);
  return child.pid as number;
}

export async function setUp(procs: Processes, dir: string): Promise<Scenario[]> {
  const app = await freePort();
  const appH2 = await freePort();
  const appCfg = appConfig(dir, app);
  // The app also answers h2c, the baseline of the one-hop scenarios (whose clients speak h2c).
  writeFileSync(
    appCfg,
    readFileSync(appCfg, "utf8").replace(
      `bind 127.0.0.1:${app}`,
      `bind 127.0.0.1:${app}\n  bind 127.0.0.1:${appH2} proto h2`,
    ),
  );
  procs.start("app", "haproxy", ["-db", "-f", appCfg]);
  const tls = (n: string) => ({ ca: join(dir, "ca.pem"), crt: join(dir, `${n}.haproxy.pem`) });
  const [h1In, h2aIn, h2bIn] = [await freePort(), await freePort(), await freePort()];
  const ha1 = procs.start("haproxy-1", "haproxy", [
    "-db",
    "-f",
    proxyConfig(
      dir,
      { name: "haproxy-1", listen: h1In, inbound: "h2c", upstream: app, outbound: "h1" },
      tls("orders"),
    ),
  ]);
  const ha2a = procs.start("haproxy-2a", "haproxy", [
    "-db",
    "-f",
    proxyConfig(
      dir,
      { name: "haproxy-2a", listen: h2aIn, inbound: "h1", upstream: h2bIn, outbound: "mtls" },
      tls("web"),
    ),
  ]);
  const ha2b = procs.start("haproxy-2b", "haproxy", [
    "-db",
    "-f",
    proxyConfig(
      dir,
      { name: "haproxy-2b", listen: h2bIn, inbound: "mtls", upstream: app, outbound: "h1" },
      tls("orders"),
    ),
  ]);
  // Weft: one hop is the callee's sidecar alone (the mesh wire in h2c); two hops are caller and
  // callee sidecars with mTLS between them.
  const [s1In, s1Out, calleeIn, calleeOut, callerIn, callerOut, callerLocal] = (await Promise.all(
    Array.from({ length: 7 }, () => freePort()),
  )) as [number, number, number, number, number, number, number];
  writeFileSync(join(dir, "mesh-1.yaml"), meshYaml(s1In));
  writeFileSync(join(dir, "mesh-2.yaml"), meshYaml(calleeIn));
  const s1 = await sidecar(procs, dir, "weft-1", {
    service: "orders",
    config: join(dir, "mesh-1.yaml"),
    appPort: app,
    inbound: s1In,
    outbound: s1Out,
  });
  const callee = await sidecar(procs, dir, "weft-2-callee", {
    service: "orders",
    config: join(dir, "mesh-2.yaml"),
    appPort: app,
    inbound: calleeIn,
    outbound: calleeOut,
    tls: "orders",
  });
  const caller = await sidecar(procs, dir, "weft-2-caller", {
    service: "web",
    config: join(dir, "mesh-2.yaml"),
    appPort: 9,
    inbound: callerIn,
    outbound: callerOut,
    // Explicit mode's per-service port: h2load's HTTP/1.1 cannot set the Host that names orders.
    localPort: callerLocal,
    tls: "web",
  });
  const nodeIn = await freePort();
  const bare = procs.start("node-proxy", process.execPath, [
    join(PKG, "bench", "node-proxy.ts"),
    String(nodeIn),
    String(app),
  ]);
  for (const p of [app, appH2, h1In, h2aIn, h2bIn, callerLocal, nodeIn]) await waitForPort(p);
  const url = (port: number) => `http://127.0.0.1:${port}/`;
  const scenarios: Scenario[] = [
    { name: "direct (h1)", hops: 0, proxy: "none", url: url(app), h1: true, pids: [] },
    { name: "direct (h2c)", hops: 0, proxy: "none", url: url(appH2), h1: false, pids: [] },
    {
      name: "HAProxy, 1 hop",
      hops: 1,
      proxy: "haproxy",
      url: url(h1In),
      h1: false,
      pids: [ha1.pid as number],
    },
    { name: "weft-sidecar, 1 hop", hops: 1, proxy: "weft", url: url(s1In), h1: false, pids: [s1] },
    {
      name: "bare Node proxy (floor), 1 hop",
      hops: 1,
      proxy: "node",
      url: url(nodeIn),
      h1: true,
      pids: [bare.pid as number],
    },
    {
      name: "HAProxy, 2 hops",
      hops: 2,
      proxy: "haproxy",
      url: url(h2aIn),
      h1: true,
      pids: [ha2a.pid as number, ha2b.pid as number],
    },
    {
      name: "weft-sidecar, 2 hops",
      hops: 2,
      proxy: "weft",
      url: url(callerLocal),
      h1: true,
      pids: [caller, callee],
    },
  ];
  // Every path must answer before anything is measured.
  for (const s of scenarios) {
    const out = execFileSync(
      "curl",
      ["-sS", "-o", "/dev/null", "-w", "%{http_code}", ...(s.h1 ? [] : ["--http2-prior-knowledge"]), s.url],
      {
        encoding: "utf8",
      },
    );
    if (out !== "200") throw new Error(`bench: ${s.name} at ${s.url} answered ${out}, not 200`);
  }
  return scenarios;
}

interface Sample {
  sat: LoadResult;
  fixed: LoadResult;
  rssLoad: number;
}

/** Runs `load` while sampling the RSS of `pids` (summed), returning the load result and the peak. */
async function withRss<T>(pids: number[], load: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = 0;
  const timer = setInterval(() => {
    const sum = pids.reduce((n, p) => n + (rssMiB(p) ?? 0), 0);
    if (sum > peak) peak = sum;
  }, 200);
  try {
    return { result: await load(), peak };
  } finally {
    clearInterval(timer);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};
const round1 = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const started = performance.now();
  ensureSystemDeps();
  execFileSync("npx", ["tsup"], { cwd: PKG, stdio: "ignore" });
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
  const procs = new Processes();
  const stop = async () => {
    await procs.stopAll();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void stop().then(() => process.exit(130)));
  try {
    await writePki(dir);
    const only = process.env.WEFT_BENCH_ONLY;
    const scenarios = (await setUp(procs, dir)).filter((s) => !only || s.name.includes(only));
    // Idle: after start-up and a short settle, before any load.
    await new Promise((r) => setTimeout(r, 1500));
    const idle = new Map(scenarios.map((s) => [s.name, s.pids.map((p) => rssMiB(p) ?? 0)]));
    const samples = new Map<string, Sample[]>(scenarios.map((s) => [s.name, []]));
    const log = join(dir, "requests.log");
    for (let round = 1; round <= ROUNDS; round++) {
      // Interleaved: each round runs every scenario once, in a rotated order.
      const order = scenarios.map((_, i) => scenarios[(i + round - 1) % scenarios.length] as Scenario);
      for (const s of order) {
        const sat = await withRss(s.pids, () =>
          h2load(
            {
              url: s.url,
              h1: s.h1,
              clients: s.h1 ? 64 : 4,
              streams: 16,
              seconds: SAT_SECONDS,
              warmupSeconds: 1,
              headers: s.headers,
            },
            log,
          ),
        );
        const fixed = await h2load(
          {
            url: s.url,
            h1: s.h1,
            clients: FIXED_CLIENTS,
            streams: 1,
            seconds: 2,
            warmupSeconds: 1,
            rpsPerClient: FIXED_RPS / FIXED_CLIENTS,
            headers: s.headers,
          },
          log,
        );
        samples.get(s.name)?.push({ sat: sat.result, fixed, rssLoad: sat.peak });
        process.stderr.write(
          `round ${round} ${s.name}: ${Math.round(sat.result.rps)} req/s (failed ${sat.result.failed}), p50 ${round3(fixed.p50)} ms, p99 ${round3(fixed.p99)} ms at ${FIXED_RPS}/s\n`,
        );
      }
    }
    const rows = scenarios.map((s) => {
      const xs = samples.get(s.name) as Sample[];
      const idleRss = idle.get(s.name) ?? [];
      return {
        scenario: s.name,
        proxy: s.proxy,
        hops: s.hops,
        client: s.h1 ? "HTTP/1.1" : "h2c",
        throughputRps: Math.round(median(xs.map((x) => x.sat.rps))),
        failed: xs.reduce((n, x) => n + x.sat.failed + x.fixed.failed, 0),
        p50Ms: round3(median(xs.map((x) => x.fixed.p50))),
        p99Ms: round3(median(xs.map((x) => x.fixed.p99))),
        idleRssMiB: idleRss.map(round1),
        loadRssMiB: round1(median(xs.map((x) => x.rssLoad))),
      };
    });
    const by = (name: string) => rows.find((r) => r.scenario === name) as (typeof rows)[number];
    const added = (name: string, base: string) => round3(by(name).p50Ms - by(base).p50Ms);
    const ratios = [1, 2].map((hops) => {
      const base = hops === 1 ? "direct (h2c)" : "direct (h1)";
      const h = `HAProxy, ${hops} hop${hops === 1 ? "" : "s"}`;
      const w = `weft-sidecar, ${hops} hop${hops === 1 ? "" : "s"}`;
      const addedWeft = added(w, base);
      const addedHa = added(h, base);
      return {
        hops,
        throughputVsHaproxy: round3(by(w).throughputRps / by(h).throughputRps),
        addedP50Ms: { weft: addedWeft, haproxy: addedHa },
        addedP50VsHaproxy: round3(addedWeft / addedHa),
        idleRssPerSidecarMiB: round1(Math.max(...by(w).idleRssMiB)),
      };
    });
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "", node: process.version },
      haproxy: execFileSync("haproxy", ["-v"], { encoding: "utf8" }).split("\n")[0],
      method: {
        rounds: ROUNDS,
        saturation: `h2load -t1, ${SAT_SECONDS}s after 1s warm-up; HTTP/1.1 64 connections, h2c 4 connections x 16 streams`,
        fixedRate: `${FIXED_RPS} req/s (${FIXED_CLIENTS} clients, --rps), 2s after 1s warm-up; p50/p99 from h2load's request log`,
        app: "HAProxy answering 200 itself (http-request return), HTTP/1.1",
        figures:
          "medians over rounds; RSS in MiB, idle per process, under load the peak sum of the scenario's proxies",
        targets: "throughput >= 0.5x HAProxy, added p50 <= 2x HAProxy's, idle RSS < 60 MiB",
      },
      rows,
      ratios,
      seconds: Math.round((performance.now() - started) / 1000),
    };
    writeFileSync(join(PKG, "bench", "results", "latest.json"), `${JSON.stringify(result, null, 2)}\n`);
    writeReadme(result);
    process.stdout.write(`${table(result)}\n`);
  } finally {
    await stop();
  }
}

type Result = {
  rows: {
    scenario: string;
    client: string;
    throughputRps: number;
    failed: number;
    p50Ms: number;
    p99Ms: number;
    idleRssMiB: number[];
    loadRssMiB: number;
  }[];
  ratios: {
    hops: number;
    throughputVsHaproxy: number;
    addedP50Ms: { weft: number; haproxy: number };
    addedP50VsHaproxy: number;
    idleRssPerSidecarMiB: number;
  }[];
  date: string;
  machine: { cpus: number; model: string; node: string };
  haproxy: string | undefined;
  method: Record<string, string | number>;
};

function table(r: Result): string {
  const lines = [
    "| scenario | client | throughput (req/s) | p50 (ms) | p99 (ms) | idle RSS (MiB) | RSS under load (MiB) | failed |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...r.rows.map(
      (x) =>
        `| ${x.scenario} | ${x.client} | ${x.throughputRps} | ${x.p50Ms} | ${x.p99Ms} | ${x.idleRssMiB.join(" + ") || "-"} | ${x.loadRssMiB || "-"} | ${x.failed} |`,
    ),
    "",
    "| hops | weft throughput / HAProxy (target >= 0.5) | added p50 weft / HAProxy (ms) | ratio (target <= 2) | idle RSS per sidecar (target < 60 MiB) |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...r.ratios.map(
      (x) =>
        `| ${x.hops} | ${x.throughputVsHaproxy} | ${x.addedP50Ms.weft} / ${x.addedP50Ms.haproxy} | ${x.addedP50VsHaproxy} | ${x.idleRssPerSidecarMiB} |`,
    ),
  ];
  return lines.join("\n");
}

function writeReadme(r: Result): void {
  const file = join(PKG, "README.md");
  const text = readFileSync(file, "utf8");
  const start = "<!-- bench:start -->";
  const end = "<!-- bench:end -->";
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < 0) return;
  const body = `${start}\nMeasured ${r.date.slice(0, 10)} on ${r.machine.cpus} cores (${r.machine.model}), Node ${r.machine.node}, ${r.haproxy}; ${r.method.rounds} interleaved rounds.\n\n${table(r)}\n`;
  writeFileSync(file, text.slice(0, i) + body + text.slice(j));
  // The repository's formatter owns Markdown tables' layout.
  execFileSync("npx", ["biome", "format", "--write", file], { cwd: PKG, stdio: "ignore" });
}

// Imported by the cross-path suite (tools/bench) for its set-up; run alone, it benches.
if (import.meta.main) await main();
