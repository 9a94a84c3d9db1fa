// Runnable: node --conditions=@weft/source packages/inprocess/examples/two-services.ts
// Two services in one process, each with its own in-process mesh, calling each other over
// mutual TLS with certificates from a throwaway CA (a control plane issues them in a real mesh).

import { create } from "@bufbuild/protobuf";
import { parseMeshConfig } from "@weft/core";
import { issueTestCredentials, testCertificateAuthority } from "@weft/core/testing";
import { createMesh, createMeshClient } from "@weft/inprocess";
import { EchoService, SayResponseSchema } from "../test/gen/echo/v1/echo_pb.js";

const ca = await testCertificateAuthority("weft.local");
const credentials = (spiffeId: string) => issueTestCredentials(ca, spiffeId);

// The callee: serves EchoService on a free port behind the inbound chain.
const echo = await createMesh({
  service: "echo",
  namespace: "demo",
  credentials: await credentials("spiffe://weft.local/ns/demo/sa/echo"),
  listen: { host: "127.0.0.1", port: 0 },
});
echo.serve(EchoService, {
  say: (req) => create(SayResponseSchema, { text: `echo: ${req.text}`, replica: "one" }),
});

// The caller: static configuration names the service and where its endpoint is.
const web = await createMesh({
  service: "web",
  namespace: "demo",
  credentials: await credentials("spiffe://weft.local/ns/demo/sa/web"),
  config: parseMeshConfig({
    file: "inline.yaml",
    text: `
apiVersion: weft.dev/v1
kind: Service
metadata: { name: echo, namespace: demo }
spec: { rpcServices: [echo.v1.EchoService], policies: { timeout: { request: 2s } } }
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: echo, namespace: demo }
spec: { endpoints: [{ address: 127.0.0.1, port: ${echo.port} }] }
`,
  }),
});

const client = createMeshClient(EchoService, web);
const reply = await client.say({ text: "hello over mTLS" });
console.log(reply.text);
console.log((await web.metrics()).split("\n").find((l) => l.startsWith("weft_requests_total{")));
await web.close();
await echo.close();
