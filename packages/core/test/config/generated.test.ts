import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const pkg = fileURLToPath(new URL("../..", import.meta.url));
const buf = join(pkg, "../../node_modules/.bin/buf");
const out = mkdtempSync(join(tmpdir(), "weft-gen-"));

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("the committed protobuf output", () => {
  it("passes buf lint", () => {
    execFileSync(buf, ["lint"], { cwd: pkg, stdio: "pipe" });
  });

  it("is what `npm run generate` makes from the .proto files (run it if this fails)", () => {
    execFileSync(buf, ["generate", "--path", "proto/weft", "--path", "proto/vendor/grpc", "-o", out], {
      cwd: pkg,
      stdio: "pipe",
    });
    const committed = join(pkg, "src/gen");
    const fresh = join(out, "src/gen");
    expect(files(fresh)).toEqual(files(committed));
    for (const f of files(fresh)) {
      expect(readFileSync(join(committed, f), "utf8"), f).toBe(readFileSync(join(fresh, f), "utf8"));
    }
  });
});
