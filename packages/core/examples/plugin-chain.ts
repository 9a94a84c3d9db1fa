// Runnable: node --conditions=@weft/source packages/core/examples/plugin-chain.ts
// A user plugin named in configuration, run by the same DataPlane both shapes use. The
// terminal here answers in memory; the in-process SDK and the sidecar send over mTLS instead.
import { DataPlane, definePlugin, filterStep, newCall, parseMeshConfig, settledResponse } from "@weft/core";

const stamp = definePlugin<{ header: string; value: string }>({
  name: "stamp",
  parseOptions(raw) {
    if (typeof raw.header !== "string" || typeof raw.value !== "string") {
      throw new Error('stamp: options "header" and "value" must be strings');
    }
    return { header: raw.header, value: raw.value };
  },
  create: (options) => (next) => (call) => {
    call.headers.set(options.header, options.value);
    return next(call);
  },
});

// The same plugin shape in the phased form the built-in steps use: compose fuses it with
// its neighbours, so it costs no promise turn of its own.
const outcomes: string[] = [];
const outcome = definePlugin({
  name: "outcome",
  create: (_options, ctx) =>
    filterStep(
      {
        bind: () => (call) => ({
          call,
          answered: (response) => {
            outcomes.push(`${call.method} answered ${response.status}`);
            return response;
          },
          failed: (error) => {
            outcomes.push(`${call.method} failed: ${error.reason}`);
            throw error;
          },
        }),
      },
      ctx.place,
      "outcome",
    ),
});

const config = parseMeshConfig({
  file: "inline.yaml",
  text: `
apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  plugins:
    - { module: stamp, options: { header: x-tenant, value: acme } }
    - { module: outcome }
  policies:
    retry: { attempts: 3, retryOn: [UNAVAILABLE] }
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints: [{ address: 10.0.0.1, port: 15008 }, { address: 10.0.0.2, port: 15008 }]
`,
});

const tried: string[] = [];
const dataPlane = new DataPlane({
  shape: "inprocess",
  service: "web",
  namespace: "shop",
  plugins: [stamp, outcome],
  // The first attempt fails as if its endpoint were down; the retry goes to the other one.
  send: async (call) => {
    tried.push(call.endpoint?.key ?? "?");
    const status = tried.length === 1 ? 503 : 200;
    return settledResponse({
      status,
      endpoint: call.endpoint,
      headers: { "x-seen-tenant": call.headers.get("x-tenant") ?? "" },
    });
  },
});
await dataPlane.applyConfig(config, "v1");

const call = newCall({
  kind: "unary",
  place: "client",
  service: "orders",
  namespace: "shop",
  method: "shop.v1.Orders/Get",
  idempotent: true,
});
const response = await dataPlane.outbound(call);
console.log(
  `status ${response.status} after ${tried.length} attempts (${tried.join(" then ")}), tenant ${response.headers.get("x-seen-tenant")}`,
);
console.log(`callee identity expected: ${call.destination?.spiffeId}`);
console.log(`outcome plugin saw: ${outcomes.join("; ")}`);
dataPlane.close();
