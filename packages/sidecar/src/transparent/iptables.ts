/** What the capture rules need to know. */
export interface CaptureOptions {
  /** The uid the sidecar runs as: its own outbound traffic must not be captured again. */
  readonly sidecarUid: number;
  readonly outboundPort: number;
  readonly inboundPort: number;
  readonly adminPort: number;
  /** Outbound destination ports left alone (databases reached directly, for example). */
  readonly excludeOutboundPorts: readonly number[];
  /** Inbound ports left alone (SSH, the kubelet's probes on their own port). */
  readonly excludeInboundPorts: readonly number[];
  /** Capture inbound traffic too (PREROUTING). */
  readonly inbound: boolean;
}

export const OUTBOUND_CHAIN = "WEFT_OUTPUT";
export const INBOUND_CHAIN = "WEFT_INBOUND";

/**
 * The nat-table rules of transparent mode, in the shape of Istio's: every outbound TCP
 * connection of the workload is REDIRECTed to the outbound listener, except the sidecar's own
 * (owner uid), loopback destinations and excluded ports; inbound TCP is REDIRECTed to the
 * mesh inbound port, except the sidecar's own ports. Each entry is one `iptables` argument list.
 */
export function captureRules(o: CaptureOptions): string[][] {
  const nat = ["-t", "nat"];
  const rules: string[][] = [
    [...nat, "-N", OUTBOUND_CHAIN],
    [...nat, "-A", "OUTPUT", "-p", "tcp", "-j", OUTBOUND_CHAIN],
    // The sidecar's own connections (to peers, to the app) go out as they are.
    [...nat, "-A", OUTBOUND_CHAIN, "-m", "owner", "--uid-owner", String(o.sidecarUid), "-j", "RETURN"],
    [...nat, "-A", OUTBOUND_CHAIN, "-o", "lo", "-j", "RETURN"],
    [...nat, "-A", OUTBOUND_CHAIN, "-d", "127.0.0.0/8", "-j", "RETURN"],
  ];
  if (o.excludeOutboundPorts.length > 0)
    rules.push([
      ...nat,
      "-A",
      OUTBOUND_CHAIN,
      "-p",
      "tcp",
      "-m",
      "multiport",
      "--dports",
      o.excludeOutboundPorts.join(","),
      "-j",
      "RETURN",
    ]);
  rules.push([
    ...nat,
    "-A",
    OUTBOUND_CHAIN,
    "-p",
    "tcp",
    "-j",
    "REDIRECT",
    "--to-ports",
    String(o.outboundPort),
  ]);
  if (o.inbound) {
    const own = [o.inboundPort, o.adminPort, o.outboundPort, ...o.excludeInboundPorts];
    rules.push(
      [...nat, "-N", INBOUND_CHAIN],
      [...nat, "-A", "PREROUTING", "-p", "tcp", "-j", INBOUND_CHAIN],
      [
        ...nat,
        "-A",
        INBOUND_CHAIN,
        "-p",
        "tcp",
        "-m",
        "multiport",
        "--dports",
        own.join(","),
        "-j",
        "RETURN",
      ],
      [...nat, "-A", INBOUND_CHAIN, "-p", "tcp", "-j", "REDIRECT", "--to-ports", String(o.inboundPort)],
    );
  }
  return rules;
}

/** The rules as shell lines, quoted where needed. */
export function formatRules(rules: readonly string[][]): string {
  return `${rules.map((r) => ["iptables", ...r].map(quote).join(" ")).join("\n")}\n`;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}
