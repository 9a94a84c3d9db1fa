import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "weft-gen-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("weft gen", () => {
  it("generates typed mesh clients through @weft/codegen, and reports a proto error with file:line", () => {
    mkdirSync(join(dir, "proto/greet/v1"), { recursive: true });
    writeFileSync(
      join(dir, "proto/greet/v1/greet.proto"),
      `syntax = "proto3";
package greet.v1;
service GreetService {
  rpc Greet(GreetRequest) returns (GreetResponse) { option idempotency_level = NO_SIDE_EFFECTS; }
}
message GreetRequest { string name = 1; }
message GreetResponse { string text = 1; }
`,
    );
    const ok = spawnSync(
      process.execPath,
      ["--conditions=@weft/source", main, "gen", join(dir, "proto"), "--out", join(dir, "out")],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(ok.status, ok.stderr).toBe(0);
    expect(existsSync(join(dir, "out/greet/v1/greet_weft.ts"))).toBe(true);

    writeFileSync(
      join(dir, "proto/greet/v1/broken.proto"),
      'syntax = "proto3";\npackage greet.v1;\nmessage Broken {\n',
    );
    const bad = spawnSync(
      process.execPath,
      ["--conditions=@weft/source", main, "gen", join(dir, "proto"), "--out", join(dir, "out2")],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/broken\.proto:\d+:\d+/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
