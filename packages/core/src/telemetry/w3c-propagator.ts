import {
  type Context,
  createTraceState,
  isSpanContextValid,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import { formatTraceparent, parseTraceparent, TRACEPARENT, TRACESTATE } from "./traceparent.ts";

/** Reads a call's Fetch Headers as an OpenTelemetry carrier. */
export const headersGetter: TextMapGetter<Headers> = {
  keys: (h) => [...h.keys()],
  get: (h, key) => h.get(key) ?? undefined,
};

/** Writes a call's Fetch Headers, replacing any value already there. */
export const headersSetter: TextMapSetter<Headers> = {
  set: (h, key, value) => h.set(key, value),
};

/**
 * W3C trace context over the hand-written parser, so the mesh propagates `traceparent`
 * and `tracestate` even when no OpenTelemetry SDK (and so no global propagator) is installed.
 */
export class W3CTraceContextPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const sc = trace.getSpanContext(context);
    if (!sc || !isSpanContextValid(sc)) return;
    setter.set(
      carrier,
      TRACEPARENT,
      formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags & 0xff }),
    );
    const state = sc.traceState?.serialize();
    if (state) setter.set(carrier, TRACESTATE, state);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const raw = getter.get(carrier, TRACEPARENT);
    // Two traceparent headers are invalid, not a choice between them.
    const tp = parseTraceparent(Array.isArray(raw) ? (raw.length === 1 ? raw[0] : undefined) : raw);
    if (!tp) return context;
    const rawState = getter.get(carrier, TRACESTATE);
    const state = Array.isArray(rawState) ? rawState.join(",") : rawState;
    return trace.setSpanContext(context, {
      traceId: tp.traceId,
      spanId: tp.spanId,
      traceFlags: tp.flags,
      isRemote: true,
      traceState: state ? createTraceState(state) : undefined,
    });
  }

  fields(): string[] {
    return [TRACEPARENT, TRACESTATE];
  }
}
