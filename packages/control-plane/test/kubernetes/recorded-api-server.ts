import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One recorded request and the API server's answer to it. */
interface Exchange {
  /** The exact query the client must send (watch, resourceVersion, labelSelector...). */
  request: { query: Record<string, string> };
  /** Held back until the test releases it, so the test sees each step's effect. */
  gate?: string;
  response: {
    status: number;
    /** A list or Status object. */
    body?: unknown;
    /** A watch stream: one JSON event per line. */
    events?: unknown[];
    /** After the events: end the stream (the API server's timeout) or keep it open. */
    end?: boolean;
    hold?: boolean;
  };
}

export interface Recording {
  path: string;
  exchanges: Exchange[];
}

export function loadRecording(name: string): Recording {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), "utf8")) as Recording;
}

/**
 * Plays recorded Kubernetes API exchanges back, in order, per resource path, and notes every
 * request it got: a client that asks for something else than what was recorded next (a
 * wrong resourceVersion after a BOOKMARK, no relist after 410) shows up in `mismatches`.
 */
export class RecordedApiServer {
  readonly requests: string[] = [];
  readonly mismatches: string[] = [];
  private readonly server: Server;
  private readonly scripts = new Map<string, Exchange[]>();
  private readonly gates = new Map<string, { open: boolean; waiters: (() => void)[] }>();
  private readonly held = new Set<ServerResponse>();

  constructor(recordings: readonly Recording[]) {
    for (const r of recordings) this.scripts.set(r.path, [...r.exchanges]);
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Lets the exchange waiting on `gate` answer. */
  release(gate: string): void {
    const g = this.gate(gate);
    g.open = true;
    for (const w of g.waiters.splice(0)) w();
  }

  /** Requests made to one path, as `list ?query` or `watch ?query`. */
  requestsTo(path: string): string[] {
    return this.requests.filter((r) => r.split(" ")[1] === path).map((r) => r.replace(` ${path}`, ""));
  }

  async close(): Promise<void> {
    for (const res of this.held) res.end();
    this.held.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private gate(name: string) {
    let g = this.gates.get(name);
    if (!g) {
      g = { open: false, waiters: [] };
      this.gates.set(name, g);
    }
    return g;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://localhost");
    const query = Object.fromEntries(url.searchParams);
    const kind = query.watch === "true" ? "watch" : "list";
    const queryText = [...url.searchParams]
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join("&");
    this.requests.push(`${kind} ${url.pathname} ?${queryText}`);
    const script = this.scripts.get(url.pathname);
    if (!script) {
      // No recording for the path: the API server does not serve that resource (CRD missing).
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: "the server could not find the requested resource",
          reason: "NotFound",
          code: 404,
        }),
      );
      return;
    }
    const next = script.shift();
    if (!next) {
      // Nothing more was recorded: hold the request like an idle watch.
      this.mismatches.push(`unexpected ${req.method} ${req.url}`);
      this.held.add(res);
      return;
    }
    const want = Object.entries(next.request.query)
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join("&");
    if (want !== queryText) this.mismatches.push(`${url.pathname}: expected ?${want}, got ?${queryText}`);
    const r = next.response;
    const streams = r.events !== undefined;
    // A watch answers with its head at once (client-node's watch() resolves on it); only
    // the events wait for the gate.
    if (streams) {
      res.writeHead(r.status, { "content-type": "application/json", "transfer-encoding": "chunked" });
      res.flushHeaders();
    }
    if (next.gate) {
      const g = this.gate(next.gate);
      if (!g.open) await new Promise<void>((resolve) => g.waiters.push(resolve));
    }
    if (!streams) {
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end(JSON.stringify(r.body));
      return;
    }
    for (const e of r.events ?? []) res.write(`${JSON.stringify(e)}\n`);
    if (r.hold) this.held.add(res);
    else res.end();
  }
}

/** A kubeconfig naming the recorded server as the cluster, without credentials. */
export function kubeconfigFor(server: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: recorded
    # Plain HTTP on loopback: client-node allows it only with TLS verification off.
    cluster: { server: "${server}", insecure-skip-tls-verify: true }
users:
  - name: nobody
    user: {}
contexts:
  - name: recorded
    context: { cluster: recorded, user: nobody }
current-context: recorded
`;
}
