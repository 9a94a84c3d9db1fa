import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { toJson } from "@bufbuild/protobuf";
import { MeshConfigSchema } from "@weft/core/model";
import type { Snapshot } from "../snapshot/snapshot-cache.ts";
import type { Stats } from "./stats.ts";

/** What the admin listener reports on; the sidecar fills it in as it starts. */
export interface AdminState {
  snapshot: Snapshot | undefined;
  /** Where the snapshot came from: "file", "cache", "control-plane". */
  source: string;
  /** True once the workload certificate is loaded, or when the sidecar runs without mTLS. */
  certificateReady: boolean;
  draining: boolean;
  readonly stats: Stats;
  /** The mesh core's metrics (requests, latency, retries, ejections), Prometheus text. */
  readonly meshMetrics?: () => Promise<string>;
}

/**
 * The admin listener (default 15020): /live, /ready, /metrics, /config_dump, /stats. It is
 * for the local host and the orchestrator, so it binds to loopback unless told otherwise.
 */
export class AdminServer {
  readonly #server: http.Server;
  readonly state: AdminState;

  constructor(state: AdminState) {
    this.state = state;
    this.#server = http.createServer((req, res) => this.#handle(req, res));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => resolve((this.#server.address() as AddressInfo).port));
    });
  }

  /** Ready: config and certificate loaded, and not draining. Says what is missing otherwise. */
  notReadyReason(): string | undefined {
    const s = this.state;
    if (s.draining) return "draining";
    if (!s.snapshot) return "no configuration loaded yet";
    if (!s.certificateReady) return "no workload certificate yet";
    return undefined;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((r) => this.#server.close(() => r()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.#answer(req).then(
      ([status, type, text]) => {
        res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: Error) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`admin: ${err.message}\n`);
      },
    );
  }

  async #answer(req: IncomingMessage): Promise<[number, string, string]> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD")
      return answer(405, "text/plain", "only GET and HEAD\n");
    switch (path) {
      case "/live":
        return answer(200, "text/plain", "live\n");
      case "/ready": {
        const why = this.notReadyReason();
        return why ? answer(503, "text/plain", `not ready: ${why}\n`) : answer(200, "text/plain", "ready\n");
      }
      case "/metrics":
        return answer(
          200,
          "text/plain; version=0.0.4",
          this.state.stats.toPrometheus() + ((await this.state.meshMetrics?.()) ?? ""),
        );
      case "/stats":
        return answer(200, "application/json", `${JSON.stringify(this.state.stats.toJSON(), null, 2)}\n`);
      case "/config_dump": {
        const snap = this.state.snapshot;
        const body = snap
          ? {
              version: snap.version,
              source: this.state.source,
              config: toJson(MeshConfigSchema, snap.config),
            }
          : { version: "", source: "", config: null };
        return answer(200, "application/json", `${JSON.stringify(body, null, 2)}\n`);
      }
      default:
        return answer(404, "text/plain", "admin paths: /live /ready /metrics /stats /config_dump\n");
    }
  }
}

const answer = (status: number, type: string, text: string): [number, string, string] => [status, type, text];
