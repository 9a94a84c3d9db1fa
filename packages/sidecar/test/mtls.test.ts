import { execFile, execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordingApp } from "./helpers.ts";
import { ordersConfig, type SidecarProcess, startSidecar, tempDir } from "./process-helpers.ts";

const run = promisify(execFile);

/** A mesh CA and workload certificates (ECDSA P-256, SPIFFE ID as URI SAN), made with openssl. */
function makeCerts(dir: string, workloads: Record<string, string>) {
  const ossl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ossl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
  ossl([
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=test mesh CA",
    "-days",
    "1",
    "-out",
    "ca.pem",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-addext",
    "nameConstraints=critical,permitted;URI:weft.local",
  ]);
  for (const [name, id] of Object.entries(workloads)) {
    ossl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`]);
    ossl(["req", "-new", "-key", `${name}.key`, "-subj", `/O=weft`, "-out", `${name}.csr`]);
    tmpExt(dir, name, id);
    ossl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      `${name}.pem`,
      "-extfile",
      `${name}.ext`,
    ]);
  }
}

function tmpExt(dir: string, name: string, id: string) {
  writeFileSync(
    `${dir}/${name}.ext`,
    `subjectAltName=critical,URI:${id}\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=critical,CA:FALSE\n`,
  );
}

describe("the mesh hop over mTLS between two sidecar processes", () => {
  const tmp = tempDir();
  let app: Awaited<ReturnType<typeof recordingApp>>;
  let callee: SidecarProcess;
  let caller: SidecarProcess;

  beforeAll(async () => {
    const ids = {
      orders: "spiffe://weft.local/ns/shop/sa/orders",
      web: "spiffe://weft.local/ns/shop/sa/web",
    };
    makeCerts(tmp.dir, ids);
    app = await recordingApp((req, res) => res.end(`hello ${req.headers["x-weft-peer-identity"]}`));
    const tls = (n: string) => [
      "--cert",
      `${tmp.dir}/${n}.pem`,
      "--key",
      `${tmp.dir}/${n}.key`,
      "--ca",
      `${tmp.dir}/ca.pem`,
    ];
    tmp.write(
      "self.yaml",
      `${ordersConfig(1)}---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: orders-callers, namespace: shop }
spec:
  services: [orders]
  action: ACTION_ALLOW
  rules: [{ principals: ["spiffe://weft.local/ns/shop/sa/web"], paths: ["/x"] }]
`,
    );
    callee = await startSidecar([
      "--config",
      `${tmp.dir}/self.yaml`,
      "--service",
      "orders",
      "--namespace",
      "shop",
      "--app-port",
      String(app.port),
      ...tls("orders"),
    ]);
    tmp.write("mesh.yaml", ordersConfig(callee.ports.inbound as number));
    caller = await startSidecar([
      "--config",
      `${tmp.dir}/mesh.yaml`,
      "--service",
      "web",
      "--namespace",
      "shop",
      "--app-port",
      "9",
      ...tls("web"),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([caller?.stop(), callee?.stop()]);
    await app?.close();
    tmp.remove();
  });

  it("curl through the caller reaches the app over mTLS; the app learns the caller's SPIFFE ID, not a header's", async () => {
    const { stdout } = await run("curl", [
      "-sS",
      "-H",
      "Host: orders.shop",
      "-H",
      "x-weft-peer-identity: spiffe://weft.local/ns/shop/sa/admin",
      `http://127.0.0.1:${caller.ports.outbound}/x`,
    ]);
    expect(stdout).toBe("hello spiffe://weft.local/ns/shop/sa/web");
  });

  it("the callee's inbound chain enforces authorization: a path no rule allows is 403 and never reaches the app", async () => {
    const before = app.seen.length;
    const { stdout } = await run("curl", [
      "-sS",
      "-D",
      "-",
      "-H",
      "Host: orders.shop",
      `http://127.0.0.1:${caller.ports.outbound}/admin`,
    ]);
    expect(stdout).toMatch(/^HTTP\/1\.1 403/);
    expect(stdout).toContain("place=sidecar-inbound");
    expect(app.seen.length).toBe(before);
    const metrics = await (await fetch(`http://127.0.0.1:${callee.ports.admin}/metrics`)).text();
    expect(metrics).toContain("weft_sidecar_requests_total");
    // The core chain's own series: the denied call was counted by the inbound metrics step.
    expect(metrics).toMatch(/weft_requests_total\{[^}]*place="sidecar-inbound"/);
  });

  it("a TLS client without a certificate is refused by the strict inbound port, and nothing reaches the app", async () => {
    const before = app.seen.length;
    const result = await run("curl", [
      "-sS",
      "-k",
      "--http2",
      "--max-time",
      "5",
      `https://127.0.0.1:${callee.ports.inbound}/x`,
    ]).then(
      () => "answered",
      (e: { stderr: string }) => e.stderr,
    );
    expect(result).not.toBe("answered");
    expect(app.seen.length).toBe(before);
  });

  it("plaintext h2c to the strict inbound port is refused too", async () => {
    const before = app.seen.length;
    const result = await run("curl", [
      "-sS",
      "--http2-prior-knowledge",
      "--max-time",
      "5",
      `http://127.0.0.1:${callee.ports.inbound}/x`,
    ]).then(
      () => "answered",
      () => "refused",
    );
    expect(result).toBe("refused");
    expect(app.seen.length).toBe(before);
  });
});
