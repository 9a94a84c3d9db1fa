import { testCa, workload, writeCredentials } from "../pki.ts";
import { type SidecarProcess, startSidecar, tempDir } from "../process-helpers.ts";

/** Mesh config: `orders.shop` (whose endpoint is `ordersAt`) with the given ports, and `extra` documents. */
export function meshConfig(ordersAt: number, ports: string, extra = ""): string {
  return `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports:
${ports}
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${ordersAt} }]
${extra}`;
}

/**
 * Two sidecar processes with mTLS workload certificates of one test CA: `callee` beside the
 * app (orders.shop, whose app is the TCP service at `appPort`), `caller` beside a client (web.shop).
 */
export async function startMeshPair(appPort: number, ports: string, extra = "") {
  const tmp = tempDir();
  const ca = await testCa();
  const tls = {
    orders: writeCredentials(tmp.dir, "orders", await workload(ca, "shop", "orders")),
    web: writeCredentials(tmp.dir, "web", await workload(ca, "shop", "web")),
  };
  let callee: SidecarProcess | undefined;
  let caller: SidecarProcess | undefined;
  try {
    tmp.write("callee.yaml", meshConfig(1, ports, extra));
    callee = await startSidecar([
      "--config",
      `${tmp.dir}/callee.yaml`,
      "--service",
      "orders",
      "--namespace",
      "shop",
      "--app-port",
      String(appPort),
      ...tls.orders,
    ]);
    tmp.write("caller.yaml", meshConfig(callee.ports.inbound as number, ports, extra));
    caller = await startSidecar([
      "--config",
      `${tmp.dir}/caller.yaml`,
      "--service",
      "web",
      "--namespace",
      "shop",
      "--app-port",
      "9",
      // Every client here speaks first; a long sniff keeps a loaded machine's late first bytes
      // from being taken for a silent (server-first) TCP client.
      "--sniff-ms",
      "2000",
      ...tls.web,
    ]);
  } catch (e) {
    await Promise.all([callee?.stop(), caller?.stop()]);
    tmp.remove();
    throw e;
  }
  const c = caller;
  const d = callee;
  return {
    caller: c,
    callee: d,
    stop: async () => {
      await Promise.all([c.stop(), d.stop()]);
      tmp.remove();
    },
  };
}
