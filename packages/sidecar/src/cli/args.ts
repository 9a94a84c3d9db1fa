import { parseArgs } from "node:util";

/** A command-line mistake: the message says what was wrong; the exit code is 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `usage:
  weft-sidecar run --config <file|dir>... --service <name> [--namespace <ns>] --app-port <port>
                   [--app-protocol http1|h2c] [--outbound 127.0.0.1:15001] [--inbound 0.0.0.0:15008]
                   [--admin 127.0.0.1:15020] [--local-port <service[.ns]>=<port>]...
                   [--data-dir <dir>] [--transparent] [--sniff-ms 100] [--drain-ms 5000]
                   [--udp-host 127.0.0.1] [--udp-idle 60s]
                   [--cert <chain.pem> --key <key.pem> --ca <anchors.pem>]
                   [--control-plane <url>[,<url>...] --token <bootstrap token> [--advertise <address>]]
                   [--max-connections 4096] [--max-connections-global 16384] [--headers-timeout 10s]
                   [--request-timeout 0] [--keepalive-timeout 60s] [--h2-idle-timeout 5m]
                   [--tcp-idle-timeout 60m] [--overload-heap 0.9] [--headers-with-underscores allow|reject|drop]
                   [-- <app command> [args...]]
  weft-sidecar wait-ready [--admin 127.0.0.1:15020] [--timeout 60s]
  weft-sidecar iptables [--apply] [--uid <sidecar uid>] [--outbound-port 15001] [--inbound-port 15008]
                   [--admin-port 15020] [--exclude-ports <p,p>] [--exclude-inbound-ports <p,p>] [--no-inbound]
`;

export interface HostPort {
  host: string;
  port: number;
}

export function hostPort(text: string, flag: string): HostPort {
  const i = text.lastIndexOf(":");
  const host = i > 0 ? text.slice(0, i).replace(/^\[|\]$/g, "") : "127.0.0.1";
  const port = portNumber(i >= 0 ? text.slice(i + 1) : text, flag);
  return { host, port };
}

export function portNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535)
    throw new UsageError(`${flag}: "${text}" is not a port number (0-65535)`);
  return n;
}

export function portList(text: string | undefined, flag: string): number[] {
  if (!text) return [];
  return text.split(",").map((p) => portNumber(p.trim(), flag));
}

/** "5s", "250ms", "2m" or a number of milliseconds. */
export function millis(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: "${text}" is not a duration (like 250ms, 5s, 2m)`);
  const v = Number(m[1]);
  return m[2] === "s" ? v * 1000 : m[2] === "m" ? v * 60_000 : v;
}

/** Strict parseArgs: unknown flags and missing values are UsageErrors naming the flag. */
export function parse<T extends NonNullable<Parameters<typeof parseArgs>[0]>["options"]>(
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
