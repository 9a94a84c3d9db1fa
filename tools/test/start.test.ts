import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const START = ["--conditions=@weft/source", "tools/demo/start.ts"];

/** Runs the demo; resolves with its exit code and output once it has exited. */
function demo(args: string[], onOutput?: (text: string, child: ChildProcess) => void) {
  const child = spawn(process.execPath, [...START, ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const take = (c: Buffer) => {
    out += c.toString();
    onOutput?.(out, child);
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  return new Promise<{ code: number | null; out: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, out })),
  );
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Pids the demo says it started, and its temporary directory, from its last line. */
function startedBy(out: string): { pids: number[]; dir: string } {
  const m = /processes: started \d+ \(pids ([\d ]+)\); still running: (.+); removed (\S+)/.exec(out);
  if (!m) throw new Error(`no "processes:" line in the demo's output:\n${out.slice(-3000)}`);
  return { pids: (m[1] as string).trim().split(" ").map(Number), dir: m[3] as string };
}

/** Processes anywhere on the machine whose command line names `dir` (the sidecars' PEM files live there). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(dir)) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** Pids whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1];
      if (Number(ppid) === pid) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** The demo's temporary directory, when `pid`'s command line names a file in it. */
function demoDirOf(pid: number): string | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const prefix = join(tmpdir(), "weft-demo-");
    const file = args.find((a) => a.startsWith(prefix));
    if (file === undefined) return undefined;
    const end = file.indexOf("/", prefix.length);
    return end < 0 ? file : file.slice(0, end);
  } catch {
    return undefined;
  }
}

function expectNothingLeft(out: string) {
  const { pids, dir } = startedBy(out);
  // Control plane aside (in the demo process): 3 apps, 3 sidecars and orders at least.
  expect(pids.length).toBeGreaterThanOrEqual(7);
  expect(pids.filter(isAlive)).toEqual([]);
  expect(processesUsing(dir)).toEqual([]);
  expect(existsSync(dir)).toBe(false);
}

describe("npm start: the demo mesh", () => {
  it("runs the shop for 15 s with a replica killed and restarted, >= 99.9% success, and leaves nothing behind", async () => {
    const { code, out } = await demo(["--duration", "15"]);
    expect(out, out.slice(-4000)).toMatch(/^SUMMARY: PASS: \d+ calls end to end/m);
    expect(out).toMatch(/fault: inventory-2 killed at [\d.]+ s, back at [\d.]+ s; callers saw 0 failures/);
    expect(out).toMatch(
      /in-process: orders served [1-9]\d*; sidecar: catalog [1-9]\d*, inventory-1 [1-9]\d*/,
    );
    expect(code).toBe(0);
    expectNothingLeft(out);
  }, 55_000);

  it("stops everything it started on SIGINT (Ctrl-C)", async () => {
    let sent = false;
    const { code, out } = await demo([], (text, child) => {
      // Once traffic flows through the whole shop, press Ctrl-C.
      if (!sent && /\[\s*([2-9]|\d\d+) s\] loadgen/.test(text)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    expect(sent, out.slice(-3000)).toBe(true);
    expect(out).toContain("SIGINT: stopping everything the demo started");
    expect(out).toMatch(/^SUMMARY: /m);
    expect(code === 0 || code === 1).toBe(true);
    expectNothingLeft(out);
  }, 90_000);

  it("leaves nothing running when the demo itself is killed with SIGKILL", async () => {
    let children: number[] = [];
    let dir = "";
    const { out } = await demo([], (text, child) => {
      if (children.length > 0 || !/\[\s*([2-9]|\d\d+) s\] loadgen/.test(text)) return;
      children = childrenOf(child.pid as number);
      dir = children.map(demoDirOf).find((d) => d !== undefined) ?? "";
      child.kill("SIGKILL");
    });
    expect(children.length, out.slice(-3000)).toBeGreaterThanOrEqual(7);
    // Nothing can stop them for the demo: each sees its stdin pipe close and stops itself.
    const deadline = performance.now() + 20_000;
    while (children.some(isAlive) && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(children.filter(isAlive)).toEqual([]);
    // The demo had no chance to remove its directory: the test does.
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  it("--print-config describes examples/mesh.yaml", () => {
    const r = spawnSync(process.execPath, [...START, "--print-config"], { cwd: root, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("trust domain weft.local, mTLS STRICT");
    expect(r.stdout).toContain("shop/orders  mode INPROCESS  ports 15008/CONNECT");
    expect(r.stdout).toContain(
      "shop/inventory-reads: inventory shop.inventory.v1.InventoryService/GetStock -> inventory (100)",
    );
  });

  it("--print-config exits 1 with file:line:col and a suggestion for a bad file, and no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-start-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      "apiVersion: weft.dev/v1\nkind: Service\nmetadata: { name: a }\nspec:\n  mdoe: SIDECAR\n",
    );
    const r = spawnSync(process.execPath, [...START, "--print-config", file], {
      cwd: root,
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `${file}:5:3: spec.mdoe: unknown field "mdoe" in Service; did you mean "mode"?`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a bad --duration with exit 2 and says why", () => {
    const r = spawnSync(process.execPath, [...START, "--duration", "soon"], { cwd: root, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--duration: "soon" is not a number from 5 to 86400');
  });
});
