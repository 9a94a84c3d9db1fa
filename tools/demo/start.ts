/**
 * `npm start`: the demo mesh. On 127.0.0.1 with free ports it starts the control plane
 * (embedded store in a temporary directory), the example shop of examples/shop (a REST
 * service and two gRPC replicas behind weft-sidecar, a Connect service in the in-process
 * mesh), a traffic generator, a live view, and a scripted fault (one gRPC replica killed
 * and restarted); it prints a summary at the end.
 *
 *   npm start                           runs until Ctrl-C
 *   npm start -- --duration 20          runs 20 s; exit 0 only if traffic flowed in both
 *                                       modes with >= 99.9% success, else 1 with the reason
 *   npm start -- --print-config [file]  loads, checks and describes examples/mesh.yaml
 *
 * Ctrl-C or SIGTERM stops every process it started and removes its temporary directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@weft/core";
import { loadMeshConfigFiles } from "@weft/core/node";
import { describeMeshConfig } from "./describe-config.ts";
import { type DemoOptions, parseDemoOptions } from "./options.ts";
import { Processes } from "./processes.ts";
import { runDemo, type Started } from "./run-demo.ts";
import { meshYaml } from "./shop.ts";

let options: DemoOptions;
try {
  options = parseDemoOptions(process.argv.slice(2));
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}

if (options.printConfig) {
  try {
    const files = options.printConfig.length > 0 ? options.printConfig : [meshYaml];
    console.log(describeMeshConfig(await loadMeshConfigFiles(files)));
    process.exit(0);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
}

const dir = mkdtempSync(join(tmpdir(), "weft-demo-"));
const processes = new Processes();
const stop = new AbortController();
const started: Started = {};
const out = (line: string) => process.stdout.write(line.endsWith("\x1b[J") ? line : `${line}\n`);

let signals = 0;
const onSignal = (sig: NodeJS.Signals) => {
  signals++;
  if (signals === 1) {
    out(`\n${sig}: stopping everything the demo started`);
    stop.abort(sig);
  } else {
    // A second Ctrl-C: no more grace.
    for (const pid of processes.survivors()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  }
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

let code = 1;
let summary: readonly string[] = [];
try {
  const v = await runDemo(
    { options, dir, processes, signal: stop.signal, out, tty: process.stdout.isTTY === true },
    started,
  );
  summary = v.lines;
  code = v.pass ? 0 : 1;
} catch (e) {
  summary = [`SUMMARY: FAIL: the demo could not run: ${(e as Error).message}`];
  code = 1;
} finally {
  if (process.stdout.isTTY) out("\x1b[?25h");
  await started.traffic?.stop();
  await started.loadgen?.close({ graceMs: 500 });
  await processes.stopAll(3_000);
  await started.shop?.cp.close();
  rmSync(dir, { recursive: true, force: true });
}
for (const line of summary) out(line);
const left = processes.survivors();
out(
  `processes: started ${processes.pids.length} (pids ${processes.pids.join(" ")}); still running: ${left.length === 0 ? "none" : left.join(" ")}; removed ${dir}`,
);
if (left.length > 0) code = 1;
process.exit(code);
