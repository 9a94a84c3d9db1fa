import { Code } from "@connectrpc/connect";
import {
  type MeshCall,
  type MeshResponse,
  newCall,
  type Place,
  settledResponse,
} from "../../src/call/call.ts";
import { compose, type Handler, type Step, terminalStep } from "../../src/chain/chain.ts";
import { type PluginContext, silentLogger } from "../../src/chain/plugin.ts";
import type { Clock } from "../../src/clock/clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";

export function context(clock: Clock, place: Place = "client"): PluginContext {
  return { place, clock, service: "web", namespace: "shop", log: silentLogger };
}

export function unaryCall(
  init: {
    idempotent?: boolean;
    replayable?: boolean;
    signal?: AbortSignal;
    headers?: Record<string, string>;
  } = {},
): MeshCall {
  return newCall({
    kind: "unary",
    place: "client",
    service: "orders",
    namespace: "shop",
    method: "shop.v1.Orders/Get",
    idempotent: init.idempotent ?? true,
    body: { replayable: init.replayable ?? true, value: "req" },
    signal: init.signal,
    headers: init.headers,
  });
}

export const ok = (): MeshResponse => settledResponse({ status: 200, code: 0 as Code });

export function transportError(reason: string, neverSent = false): MeshError {
  return new MeshError(
    Code.Unavailable,
    reason,
    { place: "client", plugin: "transport", policy: "" },
    { neverSent },
  );
}

/** A seeded PRNG (mulberry32), so "random" tests are repeatable. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A terminal that records each call it gets and answers with the behaviour for that
 * attempt (the last one repeats); a "hang" never answers until the call's signal aborts.
 */
export type Behaviour = MeshResponse | MeshError | "hang" | ((call: MeshCall) => Promise<MeshResponse>);

export function scripted(...behaviours: Behaviour[]): Handler & { calls: MeshCall[] } {
  const calls: MeshCall[] = [];
  const handler = (call: MeshCall): Promise<MeshResponse> => {
    calls.push(call);
    const b = behaviours[Math.min(calls.length - 1, behaviours.length - 1)];
    if (b === "hang") {
      return new Promise((_, reject) => {
        call.signal.addEventListener("abort", () => reject(call.signal.reason), { once: true });
      });
    }
    if (typeof b === "function") return b(call);
    if (b instanceof MeshError) return Promise.reject(b);
    return Promise.resolve(b ?? ok());
  };
  return Object.assign(handler, { calls });
}

/** Settles a promise without letting a rejection go unhandled, for inspection after clock moves. */
export function track<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => {
      state.done = true;
      state.value = value;
    },
    (error: unknown) => {
      state.done = true;
      state.error = error;
    },
  );
  return state;
}

/** The steps composed at the client around a scripted transport. */
export function chain(steps: Step[], transport: Handler): Handler {
  return compose("client", steps, terminalStep("transport", transport));
}
