import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { createMesh, type Mesh } from "../../src/index.ts";
import type { CreateMeshOptions } from "../../src/mesh/options.ts";
import { CountResponseSchema, EchoService, SayResponseSchema } from "../gen/echo/v1/echo_pb.js";

export const ECHO_RPC = "echo.v1.EchoService";

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });
}

/** Counts calls per method, so tests see what reached the application. */
export class Received {
  readonly byMethod = new Map<string, number>();
  add(method: string): void {
    this.byMethod.set(method, (this.byMethod.get(method) ?? 0) + 1);
  }
  get total(): number {
    let n = 0;
    for (const v of this.byMethod.values()) n += v;
    return n;
  }
}

export function echoImpl(replica: string, received = new Received()): ServiceImpl<typeof EchoService> {
  const answer = (text: string, ctx: HandlerContext) =>
    create(SayResponseSchema, {
      text,
      replica,
      deadlineMs: BigInt(Math.round(ctx.timeoutMs() ?? -1)),
      caller: ctx.requestHeader.get("x-test-caller") ?? "",
    });
  return {
    async say(req, ctx) {
      received.add("say");
      if (req.delayMs) await sleep(req.delayMs, ctx.signal);
      return answer(req.text, ctx);
    },
    async create(req, ctx) {
      received.add("create");
      if (req.delayMs) await sleep(req.delayMs, ctx.signal);
      return answer(req.text, ctx);
    },
    async *count(req) {
      received.add("count");
      for (let n = 1; n <= req.upTo; n++) yield create(CountResponseSchema, { n });
    },
    async collect(reqs, ctx) {
      received.add("collect");
      const parts: string[] = [];
      for await (const r of reqs) parts.push(r.text);
      return answer(parts.join(" "), ctx);
    },
    async *chat(reqs, ctx) {
      received.add("chat");
      for await (const r of reqs) yield answer(r.text.toUpperCase(), ctx);
    },
  };
}

/** One replica of the echo service: an in-process mesh serving EchoService on a free port. */
export async function echoReplica(
  name: string,
  options: Omit<CreateMeshOptions, "service" | "listen">,
  received = new Received(),
): Promise<{ mesh: Mesh; port: number; received: Received }> {
  const mesh = await createMesh({
    service: "echo",
    namespace: "test",
    listen: { host: "127.0.0.1", port: 0 },
    ...options,
  });
  mesh.serve(EchoService, echoImpl(name, received));
  return { mesh, port: mesh.port ?? 0, received };
}

/** Static configuration that routes echo.v1.EchoService to the given replica ports. */
export function echoConfig(ports: readonly number[], extra = ""): string {
  return `
apiVersion: weft.dev/v1
kind: Mesh
spec:
  defaults:
    retry: { attempts: 3, backoff: { base: 5ms, max: 20ms } }
    outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 30s, maxEjectionPercent: 50 }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: echo, namespace: test }
spec:
  rpcServices: [${ECHO_RPC}]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: echo, namespace: test }
spec:
  endpoints:
${ports.map((p) => `    - { address: 127.0.0.1, port: ${p} }`).join("\n")}
${extra}`;
}
