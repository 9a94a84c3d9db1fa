import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

const idempotency = ["NO_SIDE_EFFECTS", "IDEMPOTENT", "IDEMPOTENCY_UNKNOWN"] as const;

/**
 * Writes `services` .proto files, one service with `methods` methods each, in its own
 * package (bench/svcN/v1/svcN.proto), all importing one shared file and the Weft options,
 * methods cycling through the four kinds, idempotency levels and option shapes.
 */
export async function writeBenchProtos(dir: string, services: number, methods: number): Promise<void> {
  await mkdir(join(dir, "bench", "shared", "v1"), { recursive: true });
  await writeFile(
    join(dir, "bench", "shared", "v1", "shared.proto"),
    [
      'syntax = "proto3";',
      "package bench.shared.v1;",
      'import "google/protobuf/timestamp.proto";',
      "message Request { string id = 1; map<string, string> labels = 2; google.protobuf.Timestamp at = 3; }",
      "message Response { string id = 1; oneof result { string ok = 2; int32 error = 3; } }",
      "",
    ].join("\n"),
  );
  for (let s = 0; s < services; s++) {
    const pkg = `svc${s}`;
    const lines = [
      'syntax = "proto3";',
      `package bench.${pkg}.v1;`,
      'import "bench/shared/v1/shared.proto";',
      'import "weft/v1/options.proto";',
      `service Service${s} {`,
    ];
    for (let m = 0; m < methods; m++) {
      const kind = m % 4;
      const input = kind === 2 || kind === 3 ? "stream bench.shared.v1.Request" : "bench.shared.v1.Request";
      const output =
        kind === 1 || kind === 3 ? "stream bench.shared.v1.Response" : "bench.shared.v1.Response";
      const level = idempotency[m % 3];
      lines.push(
        `  rpc Method${m}(${input}) returns (${output}) {`,
        `    option idempotency_level = ${level};`,
        `    option (weft.v1.method) = { timeout: { seconds: ${1 + (m % 5)} } retry: { attempts: ${1 + (m % 4)} retry_on: [RETRY_ON_UNAVAILABLE] } };`,
        "  }",
      );
    }
    lines.push("}", "");
    await mkdir(join(dir, "bench", pkg, "v1"), { recursive: true });
    await writeFile(join(dir, "bench", pkg, "v1", `${pkg}.proto`), lines.join("\n"));
  }
}
