import { Code } from "@connectrpc/connect";
import {
  type Context,
  context,
  isSpanContextValid,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type TextMapPropagator,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { type CallOutcome, type MeshCall, type MeshResponse, whenSettled } from "../call/call.ts";
import { type Handler, rejectsWithMeshErrors } from "../chain/chain.ts";
import { definePlugin } from "../chain/plugin.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { attemptsOf } from "./attempts.ts";
import { rejectUnknownOptions } from "./options.ts";
import { CODE_OK, codeLabel, codeOfError, codeOfOutcome, statusOfError } from "./outcome.ts";
import { headersGetter, headersSetter, W3CTraceContextPropagator } from "./w3c-propagator.ts";

export interface TracingOptions {
  /** Where spans go; the API's global provider (a no-op until an SDK registers one) by default. */
  tracerProvider?: TracerProvider;
  /**
   * How trace context travels in headers: "w3c" (default; works with no SDK installed),
   * "global" (the propagator an SDK registered with the API, e.g. B3), or a propagator.
   */
  propagator?: "w3c" | "global" | TextMapPropagator;
}

const TRACER_NAME = "@weft/core";
const w3c = new W3CTraceContextPropagator();
/** What a proxy provider delegates to before an SDK registers (the API's no-op provider). */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * The `tracing` step: one span per call, CLIENT on the sending side and SERVER on the
 * receiving side, child of the trace context found in the call's headers (or, when
 * sending from in-process code, of the active context); that span's context is written
 * back into the headers for the next hop, and the span ends when the response settles.
 * With no SDK installed the span is a non-recording one carrying the incoming context,
 * so `traceparent` passes through unchanged.
 */
export const tracingPlugin = definePlugin<TracingOptions>({
  name: "tracing",
  parseOptions(raw) {
    rejectUnknownOptions("tracing", raw, ["tracerProvider", "propagator"]);
    const { tracerProvider, propagator } = raw;
    if (tracerProvider !== undefined && typeof (tracerProvider as TracerProvider).getTracer !== "function") {
      throw new Error("plugin tracing: option tracerProvider must be an OpenTelemetry TracerProvider");
    }
    if (
      propagator !== undefined &&
      propagator !== "w3c" &&
      propagator !== "global" &&
      typeof (propagator as TextMapPropagator).inject !== "function"
    ) {
      throw new Error(`plugin tracing: option propagator must be "w3c", "global" or a TextMapPropagator`);
    }
    return raw as TracingOptions;
  },
  create(options, ctx) {
    const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(TRACER_NAME);
    const p = options.propagator ?? "w3c";
    const propagator: TextMapPropagator = p === "w3c" ? w3c : p === "global" ? propagation : p;
    const inbound = ctx.place === "server" || ctx.place === "sidecar-inbound";
    const spanOptions: SpanOptions = { kind: inbound ? SpanKind.SERVER : SpanKind.CLIENT };
    const place = ctx.place;
    // The API's global provider is a proxy with the no-op provider behind it until an SDK
    // registers one; until then every span is a non-recording one carrying its parent's
    // context, which the headers already carry, so there is nothing to do.
    const noSdk = (): boolean => {
      if (options.tracerProvider !== undefined) return false;
      const global = trace.getTracerProvider();
      return global instanceof ProxyTracerProvider && global.getDelegate() === NOOP_PROVIDER;
    };
    return rejectsWithMeshErrors((next: Handler) => (call: MeshCall) => {
      if (noSdk()) return next(call);
      // A received call's parent is what came on the wire, never an unrelated active context.
      const parent = propagator.extract(
        inbound ? ROOT_CONTEXT : context.active(),
        call.headers,
        headersGetter,
      );
      const span = tracer.startSpan(spanName(call), spanOptions, parent);
      const recording = span.isRecording();
      if (recording) {
        span.setAttributes({
          "weft.place": place,
          "weft.service": call.service,
          "weft.namespace": call.namespace,
          "rpc.method": call.method,
          "http.request.method": call.httpMethod,
          "url.path": call.path,
        });
      } else {
        // No SDK (or one that passes the parent through): the span is the incoming context
        // itself, or nothing; the headers already say all there is to say, and ending a
        // non-recording span does nothing, so the call goes on untouched and at no cost.
        const sc = span.spanContext();
        if (!isSpanContextValid(sc) || sc === trace.getSpanContext(parent)) return next(call);
      }
      const active: Context = trace.setSpan(parent, span);
      propagator.inject(active, call.headers, headersSetter);
      return send(next, call, active, span, recording, inbound);
    });
  },
});

async function send(
  next: Handler,
  call: MeshCall,
  active: Context,
  span: Span,
  recording: boolean,
  inbound: boolean,
): Promise<MeshResponse> {
  let response: MeshResponse;
  try {
    response = await context.with(active, next, undefined, call);
  } catch (err) {
    endSpan(span, recording, inbound, call, undefined, codeOfError(err), statusOfError(err), err);
    throw err;
  }
  whenSettled(
    response,
    (o: CallOutcome) =>
      endSpan(span, recording, inbound, call, response, codeOfOutcome(o), o.status, o.error),
    (err: unknown) =>
      endSpan(span, recording, inbound, call, response, codeOfError(err), statusOfError(err), err),
  );
  return response;
}

function spanName(call: MeshCall): string {
  if (call.method) return call.method;
  if (call.kind === "tcp" || call.kind === "udp") return `${call.kind} ${call.service}`;
  return `${call.httpMethod} ${call.service}`;
}

function endSpan(
  span: Span,
  recording: boolean,
  inbound: boolean,
  call: MeshCall,
  response: MeshResponse | undefined,
  code: Code | undefined,
  status: number,
  error: unknown,
): void {
  if (recording) {
    span.setAttribute("http.response.status_code", status);
    if (code !== undefined) span.setAttribute("rpc.grpc.status_code", code);
    if (call.route) span.setAttribute("weft.route", call.route);
    span.setAttribute("weft.attempts", attemptsOf(call));
    const endpoint = response?.endpoint ?? call.endpoint;
    if (endpoint) {
      span.setAttribute("server.address", endpoint.address);
      span.setAttribute("server.port", endpoint.port);
    }
    if (call.source) span.setAttribute("weft.source", call.source.spiffeId);
    if (error instanceof MeshError) {
      span.setAttribute("weft.error.plugin", error.provenance.plugin);
      span.setAttribute("weft.error.place", error.provenance.place);
      if (error.provenance.policy) span.setAttribute("weft.error.policy", error.provenance.policy);
    }
    if (isSpanError(inbound, code, status)) {
      const message =
        error instanceof MeshError
          ? error.reason
          : error instanceof Error
            ? error.message
            : code !== undefined
              ? codeLabel(code)
              : `HTTP ${status}`;
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      if (error instanceof Error) span.recordException(error);
    }
  }
  span.end();
}

/** Codes a server span counts as its own failure (OpenTelemetry's RPC conventions). */
const SERVER_ERROR_CODES: ReadonlySet<Code> = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/** OpenTelemetry conventions: a client span fails on any non-OK code or 4xx/5xx; a server span only on server faults. */
function isSpanError(inbound: boolean, code: Code | undefined, status: number): boolean {
  if (code !== undefined) return inbound ? SERVER_ERROR_CODES.has(code) : code !== CODE_OK;
  return inbound ? status >= 500 : status >= 400;
}
