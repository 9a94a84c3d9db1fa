// Runs the external TLS scanners (Debian's testssl.sh and sslscan) against a listener and
// reads their machine output: testssl's flat JSON, sslscan's XML.
import { execFile } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface ScanIdentity {
  /** A directory for scanner files. */
  readonly dir: string;
  /** PEM client certificate, its key and the mesh root, for a complete mTLS handshake. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly rootFile: string;
}

let scans = 0;

export interface TestsslFinding {
  readonly id: string;
  readonly severity: string;
  readonly finding: string;
}

/** testssl's severities, lowest first; WARN and FATAL mark scan problems, not findings. */
export const SEVERITY_ORDER = ["DEBUG", "INFO", "OK", "LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && (err as { killed?: boolean }).killed) {
        reject(new Error(`${file} did not finish in ${timeoutMs} ms`));
        return;
      }
      const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * testssl 3.0 (Debian's) has no --mtls, and sends its full handshakes through `openssl
 * s_client`: a wrapper named by $OPENSSL adds the client certificate to each s_client call,
 * so those handshakes complete against the real strict listener (requestCert and
 * rejectUnauthorized, as in production). testssl's own socket probes (protocols, ciphers)
 * need no client certificate: a TLS 1.3 server answers with its hello, certificate and
 * parameters before it asks for one.
 */
export async function runTestssl(
  id: ScanIdentity,
  port: number,
  checks: readonly string[],
  timeoutMs: number,
): Promise<TestsslFinding[]> {
  const wrapper = join(id.dir, "openssl-mtls.sh");
  await writeFile(
    wrapper,
    [
      "#!/bin/sh",
      'if [ "$1" = "s_client" ]; then shift; exec /usr/bin/openssl s_client -cert "$WEFT_MTLS_CERT" -key "$WEFT_MTLS_KEY" "$@"; fi',
      'exec /usr/bin/openssl "$@"',
      "",
    ].join("\n"),
  );
  await chmod(wrapper, 0o755);
  // testssl will not write over an earlier scan's file.
  const json = join(id.dir, `testssl-${port}-${++scans}.json`);
  const env = { ...process.env, OPENSSL: wrapper, WEFT_MTLS_CERT: id.certFile, WEFT_MTLS_KEY: id.keyFile };
  const args = [
    "--quiet",
    "--color",
    "0",
    "--warnings",
    "off",
    "--add-ca",
    id.rootFile,
    "--jsonfile",
    json,
    ...checks,
    `127.0.0.1:${port}`,
  ];
  const result = await run("/usr/bin/testssl", args, env, timeoutMs);
  let text: string;
  try {
    text = await readFile(json, "utf8");
  } catch {
    throw new Error(`testssl wrote no JSON (exit ${result.code}): ${result.stdout.slice(-2000)}`);
  }
  return (JSON.parse(text) as TestsslFinding[]).map((f) => ({
    id: f.id,
    severity: f.severity,
    finding: f.finding,
  }));
}

export interface SslscanResult {
  /** "ssl2", "ssl3", "tls1.0" ... "tls1.3" → enabled. */
  readonly protocols: ReadonlyMap<string, boolean>;
  readonly ciphers: readonly { sslversion: string; cipher: string; bits: number; strength: string }[];
  readonly groups: readonly { name: string; bits: number }[];
  readonly renegotiationSupported: boolean;
  readonly heartbleedVulnerable: boolean;
  readonly compression: boolean;
}

/** sslscan with the client certificate (--certs/--pk), read from its --xml output. */
export async function runSslscan(id: ScanIdentity, port: number, timeoutMs: number): Promise<SslscanResult> {
  const xmlFile = join(id.dir, `sslscan-${port}.xml`);
  const args = [
    "--no-colour",
    `--xml=${xmlFile}`,
    `--certs=${id.certFile}`,
    `--pk=${id.keyFile}`,
    `127.0.0.1:${port}`,
  ];
  const result = await run("/usr/bin/sslscan", args, process.env, timeoutMs);
  let xml: string;
  try {
    xml = await readFile(xmlFile, "utf8");
  } catch {
    throw new Error(`sslscan wrote no XML (exit ${result.code}): ${result.stdout.slice(-2000)}`);
  }
  const protocols = new Map<string, boolean>();
  for (const a of elements(xml, "protocol")) protocols.set(`${a.type}${a.version}`, a.enabled === "1");
  if (protocols.size === 0) throw new Error(`sslscan found no protocol at all: ${xml.slice(0, 500)}`);
  return {
    protocols,
    ciphers: elements(xml, "cipher").map((a) => ({
      sslversion: a.sslversion ?? "",
      cipher: a.cipher ?? "",
      bits: Number(a.bits),
      strength: a.strength ?? "",
    })),
    groups: elements(xml, "group").map((a) => ({ name: a.name ?? "", bits: Number(a.bits) })),
    renegotiationSupported: elements(xml, "renegotiation").some((a) => a.supported === "1"),
    heartbleedVulnerable: elements(xml, "heartbleed").some((a) => a.vulnerable === "1"),
    compression: elements(xml, "compression").some((a) => a.supported === "1"),
  };
}

/** Attributes of every `<name .../>` element (sslscan's XML is flat attributes throughout). */
function elements(xml: string, name: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of xml.matchAll(new RegExp(`<${name}\\s([^>]*?)/?>`, "g"))) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? "").matchAll(/([\w-]+)="([^"]*)"/g)) attrs[a[1] ?? ""] = a[2] ?? "";
    out.push(attrs);
  }
  return out;
}
