import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import type { MeshError } from "../../src/errors/mesh-error.ts";
import { FaultInjectionSchema } from "../../src/gen/weft/v1/policy_pb.js";
import { faultInterceptor, faultOptionsFromProto, faultPlugin } from "../../src/resilience/fault.ts";
import { chain, context, ok, scripted, seeded, track, unaryCall } from "./helpers.ts";

describe("fault injection", () => {
  it("aborts and delays the configured shares of 10k calls, within 1.5 points", async () => {
    const clock = new FakeClock();
    const app = scripted(ok());
    const options = faultOptionsFromProto(
      create(FaultInjectionSchema, {
        delay: { seconds: 0n, nanos: 50_000_000 },
        delayPercent: 30,
        abortHttpStatus: 503,
        abortPercent: 12.5,
      }),
    );
    const handler = chain(
      [{ name: "fault", interceptor: faultInterceptor({ ...options, random: seeded(42) }, context(clock)) }],
      app,
    );
    const results = Array.from({ length: 10_000 }, () => track(handler(unaryCall())));
    await clock.advance(0);
    const immediate = results.filter((r) => r.done).length;
    await clock.advance(50);
    expect(results.every((r) => r.done)).toBe(true);
    const aborted = results.filter((r) => r.error);
    const delayedShare = (10_000 - immediate) / 10_000;
    const abortShare = aborted.length / 10_000;
    expect(Math.abs(delayedShare - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(abortShare - 0.125)).toBeLessThan(0.015);
    const err = aborted[0]?.error as MeshError;
    expect(err.code).toBe(Code.Unavailable);
    expect(err.provenance.plugin).toBe("fault");
    expect(err.reason).toBe("fault injected: HTTP 503 for 12.5% of calls to orders");
    expect(app.calls).toHaveLength(10_000 - aborted.length);
  });

  it("maps the abort status to a code as the gRPC HTTP table does", async () => {
    const clock = new FakeClock();
    for (const [status, code] of [
      [404, Code.Unimplemented],
      [403, Code.PermissionDenied],
      [504, Code.DeadlineExceeded],
      [500, Code.Unknown],
    ] as const) {
      const step = {
        name: "fault",
        interceptor: faultInterceptor({ abortHttpStatus: status, abortPercent: 100 }, context(clock)),
      };
      const err = await chain([step], scripted(ok()))(unaryCall()).catch((e) => e);
      expect(err.code, String(status)).toBe(code);
    }
    expect(() => faultInterceptor({ abortHttpStatus: 200, abortPercent: 10 }, context(clock))).toThrow(
      /4xx or 5xx/,
    );
    expect(faultPlugin.parseOptions?.({ abortHttpStatus: 503, abortPercent: 5 })).toMatchObject({
      abortHttpStatus: 503,
      abortPercent: 5,
    });
  });
});
