import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate, ProtoCompileError, runGen } from "../src/index.ts";
import { fixtures } from "./support/generated.ts";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const cli = join(packageDir, "src", "cli", "weft-gen.ts");

function capture() {
  const io = { stdout: "", stderr: "" };
  const sink = {
    out: (text: string) => {
      io.stdout += text;
    },
    err: (text: string) => {
      io.stderr += text;
    },
  };
  return { io, sink };
}

describe("errors in .proto files", () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), "weft-codegen-errors-"));
  });
  afterAll(() => rm(out, { recursive: true, force: true }));

  it("a syntax error is reported at its file:line:column under the user's proto dir", async () => {
    const protoDir = join(fixtures, "broken");
    const error = await generate({ protoDir, outDir: out }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtoCompileError);
    expect((error as ProtoCompileError).diagnostics).toEqual([
      `${protoDir}/bad/v1/bad.proto:7:1: unexpected \`}\` after definition`,
    ]);
  });

  it("`weft gen` prints it as buf does, with no stack, and exits 1", () => {
    const result = spawnSync(
      process.execPath,
      [cli, "test/fixtures/broken", "--out", relative(packageDir, out)],
      {
        cwd: packageDir,
        encoding: "utf8",
      },
    );
    expect(result.stderr).toBe(
      "test/fixtures/broken/bad/v1/bad.proto:7:1: unexpected `}` after definition\n",
    );
    expect(result.stdout).toBe("");
    expect(result.status).toBe(1);
  });

  it("a policy the mesh cannot apply is reported at the method, with the reason", async () => {
    const { io, sink } = capture();
    expect(await runGen(["test/fixtures/bad-policy", `--out=${out}`], sink)).toBe(1);
    expect(io.stderr).toBe(
      "test/fixtures/bad-policy/bad/v1/policy.proto:13:3: (weft.v1.method) of rpc bad.v1.Payments.Pay: " +
        "hedging sends the request more than once, so the method needs option idempotency_level = " +
        "NO_SIDE_EFFECTS or IDEMPOTENT\n",
    );
  });

  it("bad usage and a missing directory are named", async () => {
    const usage = capture();
    expect(await runGen(["protos"], usage.sink)).toBe(2);
    expect(usage.io.stderr).toMatch(
      /^weft gen: missing --out <dir>\n\nUsage: weft gen <proto dir> --out <dir>/,
    );
    const missing = capture();
    expect(await runGen(["no/such/dir", "--out", out], missing.sink)).toBe(1);
    expect(missing.io.stderr).toBe("no/such/dir: not a directory of .proto files\n");
  });
});
