import { execFile } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordingApp } from "./helpers.ts";
import { ordersConfig, type SidecarProcess, startSidecar, tempDir } from "./process-helpers.ts";

const run = promisify(execFile);

// caller app --(HTTP/1.1 or h2c)--> caller sidecar --(h2c mesh hop)--> callee sidecar --> callee app
describe("two sidecar processes between a client and an app", () => {
  let app: Awaited<ReturnType<typeof recordingApp>>;
  let callee: SidecarProcess;
  let caller: SidecarProcess;
  const tmp = tempDir();

  beforeAll(async () => {
    app = await recordingApp((req, res, body) => {
      if (req.url === "/trailers") {
        res.writeHead(200, { trailer: "x-checksum", "content-type": "text/plain" });
        res.write("part1;");
        res.addTrailers({ "x-checksum": "abc123" });
        res.end("part2");
        return;
      }
      res.writeHead(201, { "x-app": "yes" });
      res.end(`echo:${req.method} ${req.url} ${body}`);
    });
    tmp.write("empty.yaml", ordersConfig(1));
    callee = await startSidecar([
      "--config",
      `${tmp.dir}/empty.yaml`,
      "--service",
      "orders",
      "--namespace",
      "shop",
      "--app-port",
      String(app.port),
    ]);
    // A user plugin named in config, loaded from its module by the caller's data plane.
    tmp.write(
      "tenant.mjs",
      `export default {
  name: "tenant",
  places: ["sidecar-outbound"],
  create: (options) => (next) => (call) => {
    call.headers.set("x-tenant", options.tenant);
    return next(call);
  },
};
`,
    );
    tmp.write(
      "mesh.yaml",
      ordersConfig(callee.ports.inbound as number).replace(
        "  rpcServices: []",
        `  rpcServices: []\n  plugins: [{ module: "${tmp.dir}/tenant.mjs", options: { tenant: acme } }]`,
      ),
    );
    caller = await startSidecar([
      "--config",
      `${tmp.dir}/mesh.yaml`,
      "--service",
      "web",
      "--namespace",
      "shop",
      "--app-port",
      "9",
      "--local-port",
      `orders=0`,
    ]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([caller?.stop(), callee?.stop()]);
    await app.close();
    tmp.remove();
  });

  it("curl over HTTP/1.1 with a Host naming the service reaches the app, status and headers intact", async () => {
    const { stdout } = await run("curl", [
      "-sS",
      "--http1.1",
      "-D",
      "-",
      "-H",
      "Host: orders.shop",
      "--data-binary",
      "hello world",
      `http://127.0.0.1:${caller.ports.outbound}/greet?x=1`,
    ]);
    expect(stdout).toMatch(/^HTTP\/1\.1 201/);
    expect(stdout.toLowerCase()).toContain("x-app: yes");
    expect(stdout).toContain("echo:POST /greet?x=1 hello world");
    expect(app.seen.at(-1)?.headers.host).toBe(`127.0.0.1:${app.port}`);
    expect(app.seen.at(-1)?.headers["x-tenant"]).toBe("acme");
  });

  it("serves a client that stays silent past the 100 ms sniff window on the outbound port", async () => {
    // Explicit mode serves only what names a mesh service there: nothing server-first to wait for.
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(caller.ports.outbound as number, "127.0.0.1", () => {
        setTimeout(
          () => s.write("GET /late HTTP/1.1\r\nHost: orders.shop\r\nConnection: close\r\n\r\n"),
          400,
        );
      });
      const chunks: Buffer[] = [];
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("error", reject);
      s.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 201 /);
    expect(reply).toContain("echo:GET /late ");
  });

  it("a chunked response with trailers keeps its trailers across both hops", async () => {
    const got = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
      http
        .get(
          {
            host: "127.0.0.1",
            port: caller.ports.outbound,
            path: "/trailers",
            headers: { host: "orders", te: "trailers" },
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ body, trailers: res.trailers }));
          },
        )
        .on("error", reject);
    });
    expect(got.body).toBe("part1;part2");
    expect(got.trailers).toEqual({ "x-checksum": "abc123" });
  });

  it("a chunked request's trailers reach the app across both hops", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: caller.ports.outbound,
          method: "POST",
          path: "/upload",
          headers: { host: "orders.shop", trailer: "x-sum" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.write("chunk-1;");
      req.addTrailers({ "x-sum": "42" });
      req.end("chunk-2");
    });
    expect(status).toBe(201);
    const seen = app.seen.at(-1);
    expect(seen?.url).toBe("/upload");
    expect(seen?.body).toBe("chunk-1;chunk-2");
    expect(seen?.trailers).toEqual({ "x-sum": "42" });
  });

  it("an unknown host is a 404 naming the host, with a weft-error header, and nothing reaches the app", async () => {
    const before = app.seen.length;
    const { stdout } = await run("curl", [
      "-sS",
      "-D",
      "-",
      "-H",
      "Host: nope",
      `http://127.0.0.1:${caller.ports.outbound}/`,
    ]);
    expect(stdout).toMatch(/^HTTP\/1\.1 404/);
    expect(stdout).toContain("weft-error: code=not_found; place=sidecar-outbound");
    expect(stdout).toContain('no mesh service for host "nope"');
    expect(app.seen.length).toBe(before);
  });

  it("h2load over h2c to the per-service local port: every request succeeds", async () => {
    const { stdout } = await run("h2load", [
      "-n",
      "400",
      "-c",
      "4",
      "-m",
      "8",
      `http://127.0.0.1:${caller.ports["local:orders.shop"]}/load`,
    ]);
    expect(stdout).toMatch(/requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored/);
  });

  it("admin: /ready, /config_dump with the version, /stats and /metrics count what happened", async () => {
    const base = `http://127.0.0.1:${caller.ports.admin}`;
    expect((await fetch(`${base}/live`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const dump = (await (await fetch(`${base}/config_dump`)).json()) as {
      version: string;
      source: string;
      config: { services: { name: string }[] };
    };
    expect(dump.version).toMatch(/^file-[0-9a-f]{16}$/);
    expect(dump.source).toBe("file");
    expect(dump.config.services[0]?.name).toBe("orders");
    const stats = (await (await fetch(`${base}/stats`)).json()) as Record<string, number>;
    expect(
      stats['weft_sidecar_connections_total{listener="local:orders.shop",protocol="http2"}'],
    ).toBeGreaterThanOrEqual(4);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain("# TYPE weft_sidecar_requests_total counter");
  });
});
