import type { Code } from "@connectrpc/connect";
import type { CallOutcome, EndpointRef, MeshResponse, Place } from "../../src/call/call.ts";
import { type Logger, type PluginContext, silentLogger } from "../../src/chain/plugin.ts";
import type { Clock } from "../../src/clock/clock.ts";

export function pluginContext(place: Place, clock: Clock, log: Logger = silentLogger): PluginContext {
  return { place, clock, service: "web", namespace: "shop", log };
}

/** A response whose body is still streaming: `finish` settles it. */
export function streamingResponse(
  init: {
    status?: number;
    code?: Code;
    endpoint?: EndpointRef;
    headers?: ConstructorParameters<typeof Headers>[0];
  } = {},
): {
  response: MeshResponse;
  finish: (outcome: CallOutcome) => void;
  fail: (err: unknown) => void;
} {
  let finish!: (o: CallOutcome) => void;
  let fail!: (e: unknown) => void;
  const settled = new Promise<CallOutcome>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const response: MeshResponse = {
    status: init.status ?? 200,
    headers: new Headers(init.headers),
    code: init.code,
    body: undefined,
    endpoint: init.endpoint,
    settled,
  };
  return { response, finish, fail };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition (the subset prom-client writes) into samples. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = l[2] as string;
    }
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sampleValue(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) {
      total += s.value;
      found = true;
    }
  }
  if (!found) throw new Error(`no sample ${name} ${JSON.stringify(match)}`);
  return total;
}

export const endpoint: EndpointRef = {
  key: "10.0.0.7:15008",
  address: "10.0.0.7",
  port: 15008,
  zone: "z1",
  identity: "spiffe://weft.local/ns/shop/sa/orders",
};
