import {
  type Context,
  context as contextApi,
  type Link,
  type Span,
  type SpanAttributes,
  type SpanAttributeValue,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { randomSpanId, randomTraceId } from "../../src/telemetry/traceparent.ts";

/** A recording span kept in memory, implementing only the OpenTelemetry API. */
export class MemorySpan implements Span {
  readonly name: string;
  readonly kind: SpanKind;
  readonly parent: SpanContext | undefined;
  readonly attributes: SpanAttributes = {};
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  readonly exceptions: unknown[] = [];
  readonly #context: SpanContext;

  readonly #recording: boolean;

  constructor(name: string, kind: SpanKind, parent: SpanContext | undefined, recording = true) {
    this.#recording = recording;
    this.name = name;
    this.kind = kind;
    this.parent = parent;
    this.#context = {
      traceId: parent?.traceId ?? randomTraceId(),
      spanId: randomSpanId(),
      traceFlags: parent?.traceFlags ?? 1,
      traceState: parent?.traceState,
    };
  }

  spanContext(): SpanContext {
    return this.#context;
  }
  setAttribute(key: string, value: SpanAttributeValue): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: SpanAttributes): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(_link: Link): this {
    return this;
  }
  addLinks(_links: Link[]): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {
    if (this.ended) throw new Error(`span ${this.name} ended twice`);
    this.ended = true;
  }
  isRecording(): boolean {
    return this.#recording && !this.ended;
  }
  recordException(exception: unknown): void {
    this.exceptions.push(exception);
  }
}

export class MemoryTracerProvider implements TracerProvider {
  readonly spans: MemorySpan[] = [];
  /** False for an SDK whose sampler dropped the trace: spans get new ids but record nothing. */
  readonly #recording: boolean;

  constructor(options: { recording?: boolean } = {}) {
    this.#recording = options.recording ?? true;
  }

  getTracer(): Tracer {
    const spans = this.spans;
    const recording = this.#recording;
    const startSpan = (
      name: string,
      options: SpanOptions = {},
      ctx: Context = contextApi.active(),
    ): MemorySpan => {
      const parent = options.root ? undefined : trace.getSpanContext(ctx);
      const span = new MemorySpan(name, options.kind ?? SpanKind.INTERNAL, parent, recording);
      spans.push(span);
      return span;
    };
    const startActiveSpan = ((name: string, ...rest: unknown[]) => {
      const fn = rest.pop() as (span: Span) => unknown;
      const [options, ctx] = rest as [SpanOptions | undefined, Context | undefined];
      const span = startSpan(name, options, ctx);
      return contextApi.with(trace.setSpan(ctx ?? contextApi.active(), span), fn, undefined, span);
    }) as Tracer["startActiveSpan"];
    return { startSpan, startActiveSpan };
  }
}
