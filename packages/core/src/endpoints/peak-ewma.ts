import type { EndpointState } from "./endpoint-state.ts";

/**
 * Peak EWMA of latency, as in Finagle and Linkerd: a slower sample replaces the estimate at
 * once (the peak), a faster one is blended in with a weight that depends on the time since
 * the last sample, so the estimate decays towards recent latencies with time constant `tauMs`
 * whatever the request rate.
 */
export function observeLatency(ep: EndpointState, now: number, latencyMs: number, tauMs: number): void {
  const rtt = Math.max(latencyMs, 0);
  if (!ep.sampled || rtt > ep.ewmaMs) {
    ep.ewmaMs = rtt;
  } else {
    const w = Math.exp(-Math.max(now - ep.ewmaStamp, 0) / tauMs);
    ep.ewmaMs = ep.ewmaMs * w + rtt * (1 - w);
  }
  ep.ewmaStamp = now;
  ep.sampled = true;
}

/**
 * The estimate at `now`: decayed towards zero since the last sample, so an endpoint that was
 * slow and stopped receiving calls is tried again after a while (Linkerd does the same by
 * observing a zero latency when it reads the estimate).
 */
export function decayedLatency(ep: EndpointState, now: number, tauMs: number): number {
  const elapsed = now - ep.ewmaStamp;
  return elapsed > 0 ? ep.ewmaMs * Math.exp(-elapsed / tauMs) : ep.ewmaMs;
}
