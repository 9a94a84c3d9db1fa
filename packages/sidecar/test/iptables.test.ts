import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.ts";
import { captureRules, formatRules } from "../src/transparent/iptables.ts";

async function cli(args: string[]) {
  let out = "";
  let err = "";
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe("weft-sidecar iptables", () => {
  it("prints the nat rules: sidecar uid, loopback and excluded ports return; the rest is redirected", async () => {
    const { code, out } = await cli([
      "iptables",
      "--uid",
      "1337",
      "--exclude-ports",
      "5432,6379",
      "--exclude-inbound-ports",
      "22",
    ]);
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toEqual([
      "iptables -t nat -N WEFT_OUTPUT",
      "iptables -t nat -A OUTPUT -p tcp -j WEFT_OUTPUT",
      "iptables -t nat -A WEFT_OUTPUT -m owner --uid-owner 1337 -j RETURN",
      "iptables -t nat -A WEFT_OUTPUT -o lo -j RETURN",
      "iptables -t nat -A WEFT_OUTPUT -d 127.0.0.0/8 -j RETURN",
      "iptables -t nat -A WEFT_OUTPUT -p tcp -m multiport --dports 5432,6379 -j RETURN",
      "iptables -t nat -A WEFT_OUTPUT -p tcp -j REDIRECT --to-ports 15001",
      "iptables -t nat -N WEFT_INBOUND",
      "iptables -t nat -A PREROUTING -p tcp -j WEFT_INBOUND",
      "iptables -t nat -A WEFT_INBOUND -p tcp -m multiport --dports 15008,15020,15001,22 -j RETURN",
      "iptables -t nat -A WEFT_INBOUND -p tcp -j REDIRECT --to-ports 15008",
    ]);
  });

  it("the uid-owner RETURN comes before the REDIRECT, so the sidecar's own connections are never looped back", () => {
    const rules = captureRules({
      sidecarUid: 7,
      outboundPort: 25001,
      inboundPort: 25008,
      adminPort: 25020,
      excludeOutboundPorts: [],
      excludeInboundPorts: [],
      inbound: false,
    });
    const text = formatRules(rules);
    expect(text.indexOf("--uid-owner 7 -j RETURN")).toBeLessThan(text.indexOf("REDIRECT --to-ports 25001"));
    expect(text).not.toContain("PREROUTING");
    expect(text).not.toContain("multiport");
  });

  it("rejects a non-numeric uid and a bad port with exit 2", async () => {
    expect((await cli(["iptables", "--uid", "root"])).err).toContain('--uid: "root" is not a numeric uid');
    const bad = await cli(["iptables", "--exclude-ports", "80,http"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--exclude-ports: "http" is not a port number');
  });
});
