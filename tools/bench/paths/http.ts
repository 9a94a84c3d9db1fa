import { type Scenario, setUp } from "../../../packages/sidecar/bench/bench.ts";
import { h2loadPath, type RequestPath } from "../measure/load-path.ts";
import type { Phase } from "./phase.ts";

const client = (s: Scenario) => (s.h1 ? "h1" : "h2c");
const id = (s: Scenario) => (s.hops === 0 ? `http/direct-${client(s)}` : `http/${s.proxy}-${s.hops}`);

/**
 * Plain HTTP, reusing the sidecar bench's set-up: the app is HAProxy answering 200 itself; one
 * hop is the callee's proxy alone (h2c in: the mesh wire without TLS), two hops are caller and
 * callee proxies with HTTP/2 over mTLS between them (HTTP/1.1 in); HAProxy stands in the same
 * places, and a bare Node proxy shows the floor of any Node proxy here.
 */
export async function httpPaths(phase: Phase): Promise<RequestPath[]> {
  const scenarios = await setUp(phase.procs, phase.dir);
  const app = phase.procs.pid("app");
  return scenarios.map((s) =>
    h2loadPath(
      {
        id: id(s),
        protocol: s.h1 ? "HTTP/1.1" : "h2c (app: HTTP/1.1)",
        path: s.hops === 0 ? "direct" : s.name.replace("weft-sidecar", "weft sidecar"),
        generator: s.h1 ? "h2load --h1" : "h2load",
        counted: s.hops === 0 ? "app" : `${s.pids.length} proxy process(es) + app`,
        ...(s.hops > 0 && { direct: `http/direct-${client(s)}` }),
        ...(s.proxy === "weft" && { haproxy: `http/haproxy-${s.hops}` }),
      },
      { proxies: s.pids, app },
      { url: s.url, h1: s.h1 },
      phase.logFile,
    ),
  );
}
