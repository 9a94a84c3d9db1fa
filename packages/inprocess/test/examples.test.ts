import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const pkg = fileURLToPath(new URL("..", import.meta.url));

describe("the README's runnable example", () => {
  it("calls between two in-process meshes over mutual TLS", () => {
    const out = execFileSync(process.execPath, ["--conditions=@weft/source", "examples/two-services.ts"], {
      cwd: pkg,
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(out).toContain("echo: hello over mTLS");
    expect(out).toMatch(/weft_requests_total\{place="client",service="echo",[^}]*code="ok"[^}]*\} 1/);
  });
});
