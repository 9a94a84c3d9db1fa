import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "./http-client.ts";
import { startMeshPair } from "./mesh-pair.ts";
import { lineServer, tcpServer } from "./tcp-backends.ts";

const run = promisify(execFile);

const PORTS = `    - name: lines
      port: 7000
      protocol: PROTOCOL_TCP
      httpBridge: { framing: FRAMING_CRLF, maxFrameBytes: 64, timeout: 5s }
    # The same line service on a port with a short timeout (a loaded machine's first mTLS hop can take 500 ms).
    - name: impatient
      port: 7001
      protocol: PROTOCOL_TCP
      httpBridge: { framing: FRAMING_CRLF, timeout: 500ms }`;

// curl --(HTTP)--> caller sidecar (bridge) --(mTLS HBONE CONNECT)--> callee sidecar --(TCP)--> line server
describe("HTTP to a line-protocol TCP service through two sidecars (mTLS)", () => {
  let app: Awaited<ReturnType<typeof lineServer>>;
  let mesh: Awaited<ReturnType<typeof startMeshPair>>;
  let gone = 0;

  beforeAll(async () => {
    app = await lineServer();
    const closed = await tcpServer(() => {});
    gone = closed.port;
    await closed.close();
    // A second service whose only endpoint is not listening: the mesh hop itself fails.
    const extra = `---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: gone, namespace: shop }
spec:
  ports: [{ name: lines, port: 7100, protocol: PROTOCOL_TCP, httpBridge: { framing: FRAMING_NEWLINE } }]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: gone, namespace: shop }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${gone} }]
`;
    mesh = await startMeshPair(app.port, PORTS, extra);
  }, 60_000);

  afterAll(async () => {
    await mesh?.stop();
    await app?.close();
  });

  const outbound = () => mesh.caller.ports.outbound as number;

  it("curl with the sidecar as its proxy: one line out, one line back", async () => {
    const result = await run("curl", [
      "-sS",
      "--max-time",
      "10",
      "-x",
      `http://127.0.0.1:${outbound()}`,
      "--data-binary",
      "PING",
      "-w",
      " %{http_code}",
      "http://orders.shop:7000/",
    ]).catch((e: { stdout?: string; stderr?: string; message: string }) => e);
    // On a failure, what curl printed and what the caller sidecar logged say why.
    expect(result.stdout, `${result.stderr}\n${mesh.caller.stderr().slice(-2000)}`).toBe("PONG 200");
  });

  it("sequential and concurrent requests; latency measured", async () => {
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      const res = await request(outbound(), "orders.shop:7000", `s${i}`);
      expect(res.body.toString()).toBe(`ECHO s${i}`);
    }
    const sequentialMs = (performance.now() - started) / 20;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(outbound(), "orders:7000", `c${i}`)),
    );
    expect(answers.map((a) => a.body.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `ECHO c${i}`));
    console.log(`bridge through two sidecars: ${sequentialMs.toFixed(2)} ms per sequential request`);
    // Every bridged request's tunnel is closed once its answer is in.
    await expect.poll(() => app.connections(), { timeout: 3000 }).toBe(0);
  });

  it.each([
    [
      "request over the frame limit (413)",
      "x".repeat(100),
      "orders.shop:7000",
      413,
      /^request body of 100 bytes exceeds the 64-byte frame limit of orders\.shop:7000$/,
    ],
    [
      "response over the frame limit (502)",
      "BIG",
      "orders.shop:7000",
      502,
      /^bad response frame from orders\.shop:7000: line of 100 bytes exceeds the 64-byte frame limit$/,
    ],
    [
      "no answer in time",
      "SLOW",
      "orders.shop:7001",
      504,
      /^no response frame from orders\.shop:7001 within 500 ms$/,
    ],
  ])("%s: the status and reason say so", async (_name, body, authority, status, reason) => {
    const res = await request(outbound(), authority, body);
    expect(res.status).toBe(status);
    expect(String(res.headers["weft-error"])).toMatch(reason);
  });

  it("the mesh endpoint is down: 503 naming the service", async () => {
    const res = await request(outbound(), "gone.shop:7100", "PING");
    expect(res.status).toBe(503);
    console.log(`endpoint down: ${res.headers["weft-error"]}`);
    expect(String(res.headers["weft-error"])).toMatch(/^cannot reach gone\.shop:7100: /);
  });

  it("the TCP service behind the far sidecar is down: 503 naming it and why", async () => {
    await app.close();
    const res = await request(outbound(), "orders.shop:7000", "PING");
    expect(res.status).toBe(503);
    expect(String(res.headers["weft-error"])).toMatch(/^cannot reach orders\.shop:7000: .*ECONNREFUSED/);
    console.log(`app down: ${res.headers["weft-error"]}`);
  });
});
