import { writeFileSync } from "node:fs";
import { join } from "node:path";

const GLOBAL = `global
  nbthread 1
  maxconn 4000
  log stderr format raw local0 err
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
`;

/** The app of every scenario: HAProxy answering 200 itself (a native server, so the app is never the bottleneck). */
export function appConfig(dir: string, port: number): string {
  const file = join(dir, "app.cfg");
  writeFileSync(
    file,
    `${GLOBAL}frontend app
  bind 127.0.0.1:${port}
  http-request return status 200 content-type text/plain string "hello from the app"
`,
  );
  return file;
}

export interface ProxyHop {
  readonly name: string;
  readonly listen: number;
  /** What clients speak to it: HTTP/1.1, h2c, or HTTP/2 over mTLS. */
  readonly inbound: "h1" | "h2c" | "mtls";
  readonly upstream: number;
  readonly outbound: "h1" | "h2c" | "mtls";
}

/**
 * The reference proxy, in the sidecar's place: one HAProxy per hop, HTTP mode, connection
 * reuse to the upstream; between two hops HTTP/2 over mutual TLS like the mesh wire.
 * `tls` holds PEM files: ca.pem, and <name>.pem with the certificate and key.
 */
export function proxyConfig(dir: string, hop: ProxyHop, tls: { ca: string; crt: string }): string {
  const file = join(dir, `${hop.name}.cfg`);
  const bind =
    hop.inbound === "h1"
      ? `bind 127.0.0.1:${hop.listen}`
      : hop.inbound === "h2c"
        ? `bind 127.0.0.1:${hop.listen} proto h2`
        : `bind 127.0.0.1:${hop.listen} ssl crt ${tls.crt} ca-file ${tls.ca} verify required alpn h2 ssl-min-ver TLSv1.3`;
  const server =
    hop.outbound === "h1"
      ? `server up 127.0.0.1:${hop.upstream}`
      : hop.outbound === "h2c"
        ? `server up 127.0.0.1:${hop.upstream} proto h2`
        : `server up 127.0.0.1:${hop.upstream} ssl crt ${tls.crt} ca-file ${tls.ca} verify required alpn h2 ssl-min-ver TLSv1.3`;
  // An HTTP/2 response has no reason phrase; HAProxy then writes "HTTP/1.1 200 " and h2load's
  // HTTP/1.1 parser counts that as a failure. Node writes "OK", so HAProxy is told to as well.
  const reason =
    hop.inbound === "h1" && hop.outbound === "mtls"
      ? '\n  http-response set-status 200 reason "OK" if { status 200 }'
      : "";
  writeFileSync(
    file,
    `${GLOBAL}frontend fe
  ${bind}${reason}
  default_backend be
backend be
  http-reuse always
  ${server}
`,
  );
  return file;
}
