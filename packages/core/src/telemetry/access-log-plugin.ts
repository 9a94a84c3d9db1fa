import type { Code } from "@connectrpc/connect";
import { type CallOutcome, type MeshCall, type MeshResponse, whenSettled } from "../call/call.ts";
import { filterStep } from "../chain/chain.ts";
import type { Exchange } from "../chain/filter.ts";
import { definePlugin, type Logger } from "../chain/plugin.ts";
import { ERROR_HEADER, MeshError } from "../errors/mesh-error.ts";
import { attemptsOf } from "./attempts.ts";
import { fractionOption, rejectUnknownOptions } from "./options.ts";
import { codeLabel, codeOfError, codeOfOutcome, isFailure, statusOfError } from "./outcome.ts";
import { parseTraceparent, TRACEPARENT } from "./traceparent.ts";

export interface AccessLogOptions {
  /** A pino logger (or anything of its shape); the plugin context's logger by default. */
  logger?: Logger;
  /** Fraction of successful calls logged, 0..1 (default 1). Every failure is logged. */
  sampleSuccesses?: number;
  /** Source of randomness for sampling (tests pass a deterministic one). Math.random by default. */
  random?: () => number;
}

/** One access-log record. Failures carry the error's reason and where it was decided. */
export interface AccessRecord {
  place: string;
  service: string;
  namespace: string;
  method: string;
  path: string;
  http_method: string;
  route: string | undefined;
  code: string | undefined;
  status: number;
  duration_ms: number;
  attempts: number;
  /** Identity of the other side: the caller's certificate inbound, the callee's expected identity outbound. */
  peer: string | undefined;
  endpoint: string | undefined;
  trace_id: string | undefined;
  error?: { reason: string; place?: string; plugin?: string; policy?: string };
}

/**
 * The `access-log` step: one record per call, written when the response settles (so a
 * stream's record has its full duration), at `info` for successes and `warn` for failures.
 */
export const accessLogPlugin = definePlugin<AccessLogOptions>({
  name: "access-log",
  parseOptions(raw) {
    rejectUnknownOptions("access-log", raw, ["logger", "sampleSuccesses", "random"]);
    const logger = raw.logger as Logger | undefined;
    if (logger !== undefined && (typeof logger.info !== "function" || typeof logger.warn !== "function")) {
      throw new Error("plugin access-log: option logger must be a pino logger (info and warn methods)");
    }
    if (raw.random !== undefined && typeof raw.random !== "function") {
      throw new Error("plugin access-log: option random must be a function returning [0, 1)");
    }
    return {
      logger,
      sampleSuccesses: fractionOption("access-log", raw, "sampleSuccesses", 1),
      random: raw.random as (() => number) | undefined,
    };
  },
  create(options, ctx) {
    const log = options.logger ?? ctx.log;
    const sample = options.sampleSuccesses ?? 1;
    const random = options.random ?? Math.random;
    const clock = ctx.clock;
    const place = ctx.place;
    const inbound = place === "server" || place === "sidecar-inbound";

    const write = (
      call: MeshCall,
      start: number,
      response: MeshResponse | undefined,
      code: Code | undefined,
      status: number,
      error: unknown,
    ): void => {
      const failed = error !== undefined || isFailure(code, status);
      if (!failed && !(sample >= 1 || (sample > 0 && random() < sample))) return;
      const endpoint = response?.endpoint ?? call.endpoint;
      const record: AccessRecord = {
        place,
        service: call.service,
        namespace: call.namespace,
        method: call.method,
        path: call.path,
        http_method: call.httpMethod,
        route: call.route,
        code: code === undefined ? undefined : codeLabel(code),
        status,
        duration_ms: clock.now() - start,
        attempts: attemptsOf(call),
        peer: inbound ? call.source?.spiffeId : endpoint?.identity || call.destination?.spiffeId,
        endpoint: endpoint?.key,
        trace_id: parseTraceparent(call.headers.get(TRACEPARENT))?.traceId,
      };
      if (failed) {
        // A mesh error from this data plane, or one a later hop reported in the weft-error header.
        const meshError =
          error instanceof MeshError
            ? error
            : MeshError.fromHeader(response?.headers.get(ERROR_HEADER) ?? null);
        if (meshError) {
          const p = meshError.provenance;
          record.error = { reason: meshError.reason, place: p.place, plugin: p.plugin, policy: p.policy };
        } else if (error !== undefined) {
          record.error = { reason: error instanceof Error ? error.message : String(error) };
        }
        log.warn(record, "access");
      } else {
        log.info(record, "access");
      }
    };

    // A filter: its phases run fused with the metrics step's, at no promise turn of their own.
    const open = (call: MeshCall): Exchange => {
      const start = call.startedAt ?? clock.now();
      return {
        call,
        answered(response) {
          whenSettled(
            response,
            (o: CallOutcome) => write(call, start, response, codeOfOutcome(o), o.status, o.error),
            (err: unknown) => write(call, start, response, codeOfError(err), statusOfError(err), err),
          );
          return response;
        },
        failed(err) {
          write(call, start, undefined, codeOfError(err), statusOfError(err), err);
          throw err;
        },
      };
    };
    return filterStep({ bind: () => open }, place, "access-log");
  },
});
