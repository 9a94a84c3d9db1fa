import { createServer } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { type SidecarProcess, spawnCli, startSidecar, tempDir } from "../process-helpers.ts";
import { buildDescriptorSet, startOrdersBackend, writeDescriptorSet } from "./orders-backend.ts";

// weft-sidecar run, configured by a Service's `conversion` block alone: what a user writes.
const closers: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function config(conversion: string): string {
  return `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  rpcServices: [convert.v1.OrderService]
  conversion:
${conversion}
`;
}

async function sidecarFor(yaml: string, appPort: number): Promise<SidecarProcess> {
  const tmp = tempDir();
  closers.push(tmp.remove);
  tmp.write("mesh.yaml", yaml);
  const args = ["--config", `${tmp.dir}/mesh.yaml`, "--service", "orders", "--namespace", "shop"];
  const sidecar = await startSidecar([...args, "--app-port", String(appPort), "--app-protocol", "h2c"]);
  closers.push(() => sidecar.stop());
  return sidecar;
}

async function backend(reflection: boolean) {
  const { registry } = await buildDescriptorSet();
  const b = await startOrdersBackend(registry.getService("convert.v1.OrderService") as DescService, {
    reflection,
  });
  closers.push(() => b.forceClose());
  return b;
}

describe("protocol conversion from the Service's conversion block", () => {
  it("serves REST from a descriptor set file named in config, with CORS for the allowed origin", async () => {
    const app = await backend(false);
    const dir = tempDir();
    closers.push(dir.remove);
    const set = await writeDescriptorSet(`${dir.dir}/orders.binpb`);
    const port = await freePort();
    await sidecarFor(
      config(`    descriptorSet: ${JSON.stringify(set)}
    port: ${port}
    cors: { allowedOrigins: ["http://page.test"] }`),
      app.port,
    );
    const res = await fetch(`http://127.0.0.1:${port}/v1/shops/s1/orders/o1?includeItems=true`, {
      headers: { origin: "http://page.test" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://page.test");
    const body = (await res.json()) as { orderId: string; shop: string; totalCents: string };
    expect(body).toMatchObject({ orderId: "o1", shop: "s1", totalCents: "9007199254740993" });
    expect(app.calls.get("GetOrder")).toBe(1);
  }, 60_000);

  it("reads the descriptors from the app's reflection service when config says reflection", async () => {
    const app = await backend(true);
    const port = await freePort();
    await sidecarFor(config(`    reflection: true\n    port: ${port}`), app.port);
    // Connect with JSON needs the message types, which reflection gave. (grpc-js's reflection,
    // built by protobufjs, drops method options, so its google.api.http bindings are lost.)
    const res = await fetch(`http://127.0.0.1:${port}/convert.v1.OrderService/GetOrder`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ shop: "s2", orderId: "o7" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ orderId: "o7", shop: "s2" });
  }, 60_000);

  it("refuses to start when the descriptor set cannot be read, naming the service and the file", async () => {
    const tmp = tempDir();
    closers.push(tmp.remove);
    tmp.write("mesh.yaml", config(`    descriptorSet: ${JSON.stringify(`${tmp.dir}/missing.binpb`)}`));
    const args = ["--config", `${tmp.dir}/mesh.yaml`, "--service", "orders", "--namespace", "shop"];
    const run = spawnCli(["run", ...args, "--app-port", "9", "--admin", "127.0.0.1:0"]);
    expect(await run.exited).not.toBe(0);
    expect(run.stderr()).toMatch(/service orders: protocol conversion: .*missing\.binpb/);
  }, 30_000);
});
