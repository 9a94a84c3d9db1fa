import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordingApp } from "./helpers.ts";
import { MAIN, ordersConfig, type SidecarProcess, startSidecar, tempDir } from "./process-helpers.ts";

const run = promisify(execFile);
const ADDON = new URL("../native/build/Release/weft_original_dst.node", import.meta.url).pathname;
const PACKAGE = new URL("..", import.meta.url).pathname;

// Transparent capture for real: a network namespace with a veth pair to the root namespace, the
// sidecar's own `iptables --apply` rules inside it, and an unmodified client (curl, bash
// /dev/tcp) running as another uid that dials real addresses. Needs root, as CI has.
describe("transparent mode in a network namespace", () => {
  const id = Math.random().toString(16).slice(2, 8);
  const ns = `weft-test-${id}`;
  const subnet = `10.${200 + (Number.parseInt(id.slice(0, 2), 16) % 50)}.${Number.parseInt(id.slice(2, 4), 16)}`;
  const hostIp = `${subnet}.1`;
  const nsIp = `${subnet}.2`;
  const tmp = tempDir();
  let app: Awaited<ReturnType<typeof recordingApp>>;
  let echo: net.Server;
  let echoPort = 0;
  let callee: SidecarProcess;
  let tcpCallee: SidecarProcess;
  let localEcho: net.Server;
  let caller: ReturnType<typeof import("node:child_process").spawn> | undefined;
  let callerLog = "";
  const inNs = (args: string[]) => ["netns", "exec", ns, ...args];

  beforeAll(async () => {
    if (!existsSync(ADDON))
      execFileSync("npm", ["run", "build:native"], { cwd: PACKAGE, stdio: "ignore", timeout: 180_000 });
    execFileSync("ip", ["netns", "add", ns]);
    execFileSync("ip", ["link", "add", `wa${id}`, "type", "veth", "peer", "name", `wb${id}`]);
    execFileSync("ip", ["link", "set", `wa${id}`, "netns", ns]);
    execFileSync("ip", ["addr", "add", `${hostIp}/24`, "dev", `wb${id}`]);
    execFileSync("ip", ["link", "set", `wb${id}`, "up"]);
    execFileSync("ip", inNs(["ip", "addr", "add", `${nsIp}/24`, "dev", `wa${id}`]));
    execFileSync("ip", inNs(["ip", "link", "set", `wa${id}`, "up"]));
    execFileSync("ip", inNs(["ip", "link", "set", "lo", "up"]));

    app = await recordingApp((req, res) => res.end(`meshed ${req.url}`));
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, hostIp, r));
    echoPort = (echo.address() as net.AddressInfo).port;
    localEcho = net.createServer((s) => {
      s.write("mesh:");
      s.pipe(s);
    });
    await new Promise<void>((r) => localEcho.listen(0, "127.0.0.1", r));
    const tcpService = `apiVersion: weft.dev/v1
kind: Service
metadata: { name: tcpecho, namespace: shop }
spec:
  ports: [{ name: tcp, port: 9000, protocol: PROTOCOL_TCP }]
`;
    tmp.write("tcp-self.yaml", tcpService);
    tcpCallee = await startSidecar([
      "--config",
      `${tmp.dir}/tcp-self.yaml`,
      "--service",
      "tcpecho",
      "--namespace",
      "shop",
      "--app-port",
      String((localEcho.address() as net.AddressInfo).port),
      "--inbound",
      `${hostIp}:0`,
    ]);
    tmp.write("self.yaml", ordersConfig(1));
    callee = await startSidecar([
      "--config",
      `${tmp.dir}/self.yaml`,
      "--service",
      "orders",
      "--namespace",
      "shop",
      "--app-port",
      String(app.port),
      "--inbound",
      `${hostIp}:0`,
    ]);
    // orders is dialled at hostIp:8080 (its service port on its endpoint's address); nothing
    // listens there, so an answer can only come through the mesh.
    tmp.write(
      "mesh.yaml",
      `${ordersConfig(callee.ports.inbound as number).replace("address: 127.0.0.1", `address: ${hostIp}`)}---
${tcpService}---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: tcpecho, namespace: shop }
spec:
  endpoints: [{ address: ${hostIp}, port: ${tcpCallee.ports.inbound} }]
`,
    );
    const rules = await run(
      "ip",
      inNs([
        process.execPath,
        "--conditions=@weft/source",
        MAIN,
        "iptables",
        "--apply",
        "--uid",
        "0",
        "--no-inbound",
      ]),
    );
    expect(rules.stdout).toContain("applied 6 rules");
    const { spawn } = await import("node:child_process");
    caller = spawn(
      "ip",
      inNs([
        process.execPath,
        "--conditions=@weft/source",
        MAIN,
        "run",
        "--transparent",
        "--config",
        `${tmp.dir}/mesh.yaml`,
        "--service",
        "web",
        "--namespace",
        "shop",
        "--app-port",
        "9",
        "--outbound",
        "0.0.0.0:15001",
        "--inbound",
        "127.0.0.1:15008",
        "--admin",
        "127.0.0.1:15020",
      ]),
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    caller.stderr?.on("data", (c: Buffer) => (callerLog += c.toString()));
    for (let i = 0; i < 300 && !callerLog.includes("weft-sidecar started"); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(callerLog).toContain("weft-sidecar started");
  }, 120_000);

  afterAll(async () => {
    if (caller && caller.exitCode === null) {
      caller.kill("SIGTERM");
      await new Promise((r) => caller?.once("exit", r));
    }
    await callee?.stop();
    await tcpCallee?.stop();
    await new Promise((r) => localEcho?.close(r));
    await app?.close();
    await new Promise((r) => echo?.close(r));
    // Deleting the namespace deletes its end of the veth pair, and with it the other end.
    try {
      execFileSync("ip", ["netns", "del", ns]);
    } catch {}
    tmp.remove();
  });

  const asNobody = (args: string[]) =>
    inNs(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...args]);

  it("curl dialling the service's real address is captured, mapped by SO_ORIGINAL_DST to orders, and meshed", async () => {
    const { stdout } = await run(
      "ip",
      asNobody(["curl", "-sS", "--max-time", "10", `http://${hostIp}:8080/captured`]),
    );
    expect(stdout).toBe("meshed /captured");
    expect(app.seen.at(-1)?.url).toBe("/captured");
  });

  it("raw TCP to an address outside the mesh is passed through to its original destination, byte exact", async () => {
    const { stdout } = await run(
      "ip",
      asNobody([
        "bash",
        "-c",
        `exec 3<>/dev/tcp/${hostIp}/${echoPort}; printf 'ping\\x00\\xff' >&3; head -c 6 <&3 | od -An -tx1`,
      ]),
    );
    expect(stdout.trim()).toBe("70 69 6e 67 00 ff");
    const stats = await run("ip", inNs(["curl", "-sS", "http://127.0.0.1:15020/stats"]));
    const s = JSON.parse(stats.stdout) as Record<string, number>;
    expect(s['weft_sidecar_passthrough_total{protocol="tcp"}']).toBe(1);
    expect(s['weft_sidecar_connections_total{listener="outbound",protocol="http1"}']).toBe(1);
  });

  it("raw TCP to a mesh service's real address rides a CONNECT tunnel to the callee's app", async () => {
    const { stdout } = await run(
      "ip",
      asNobody(["bash", "-c", `exec 3<>/dev/tcp/${hostIp}/9000; printf 'over hbone' >&3; head -c 15 <&3`]),
    );
    expect(stdout).toBe("mesh:over hbone");
    const stats = JSON.parse(
      (await run("ip", inNs(["curl", "-sS", "http://127.0.0.1:15020/stats"]))).stdout,
    ) as Record<string, number>;
    expect(stats['weft_sidecar_mesh_tunnels_total{protocol="tcp"}']).toBe(1);
  });

  it("root's own traffic (the sidecar's uid) is not captured", async () => {
    const before = (
      JSON.parse((await run("ip", inNs(["curl", "-sS", "http://127.0.0.1:15020/stats"]))).stdout) as Record<
        string,
        number
      >
    )['weft_sidecar_passthrough_total{protocol="tcp"}'];
    const { stdout } = await run(
      "ip",
      inNs(["bash", "-c", `exec 3<>/dev/tcp/${hostIp}/${echoPort}; printf 'x' >&3; head -c 1 <&3`]),
    );
    expect(stdout).toBe("x");
    const after = (
      JSON.parse((await run("ip", inNs(["curl", "-sS", "http://127.0.0.1:15020/stats"]))).stdout) as Record<
        string,
        number
      >
    )['weft_sidecar_passthrough_total{protocol="tcp"}'];
    expect(after).toBe(before);
  });
});
