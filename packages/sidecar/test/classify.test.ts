import net, { type AddressInfo } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classify, H2_PREFACE, MAX_SNIFF_BYTES, type Verdict } from "../src/detect/classify.ts";
import { sniff } from "../src/detect/sniff.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

/** Feeds the stream in the given split and returns the first verdict that is not "more". */
function verdictOf(stream: Uint8Array, cuts: number[]): Verdict {
  const ends = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  ends.push(stream.length);
  for (const end of ends) {
    const v = classify(stream.subarray(0, Math.min(end, MAX_SNIFF_BYTES)));
    if (v !== "more") return v;
  }
  return "more";
}

const methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
const tail = fc.uint8Array({ maxLength: 64 });
const cuts = fc.array(fc.nat(200), { maxLength: 8 });

describe("classify", () => {
  it("HTTP/1 request lines are http1 whatever the split", () => {
    fc.assert(
      fc.property(fc.constantFrom(...methods), fc.string(), tail, cuts, (m, path, rest, c) => {
        const s = new Uint8Array([...bytes(`${m} /${path} HTTP/1.1\r\n`), ...rest]);
        expect(verdictOf(s, c)).toBe("http1");
      }),
    );
  });

  it("the HTTP/2 preface is http2 whatever the split and whatever follows", () => {
    fc.assert(
      fc.property(tail, cuts, (rest, c) => {
        expect(verdictOf(new Uint8Array([...bytes(H2_PREFACE), ...rest]), c)).toBe("http2");
      }),
    );
  });

  it("a TLS handshake record is tls", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), tail, cuts, (minor, rest, c) => {
        expect(verdictOf(new Uint8Array([0x16, 0x03, minor, ...rest]), c)).toBe("tls");
      }),
    );
  });

  it("a verdict never changes as more bytes arrive, and 24 bytes always decide", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (s) => {
        let first: Verdict = "more";
        for (let n = 1; n <= s.length; n++) {
          const v = classify(s.subarray(0, Math.min(n, MAX_SNIFF_BYTES)));
          if (first !== "more") expect(v).toBe(first);
          else first = v;
        }
        if (s.length >= MAX_SNIFF_BYTES) expect(first).not.toBe("more");
      }),
    );
  });

  it("prefixes of a method or of the preface wait for more; lookalikes are tcp", () => {
    expect(classify(bytes("GE"))).toBe("more");
    expect(classify(bytes("PRI * HTTP/2"))).toBe("more");
    expect(classify(bytes("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n"))).toBe("tcp");
    expect(classify(bytes("GET/"))).toBe("tcp");
    expect(classify(bytes("SSH-2.0-OpenSSH"))).toBe("tcp");
    expect(classify(new Uint8Array([0x16, 0x01]))).toBe("tcp");
    expect(classify(new Uint8Array([]))).toBe("more");
  });
});

describe("sniff on a real socket", () => {
  async function sniffServer(waitMs: number) {
    const results: { protocol: string; silent: boolean; replay: string }[] = [];
    const server = net.createServer(async (s) => {
      const r = await sniff(s, waitMs);
      const chunks: Buffer[] = [];
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("end", () => {
        results.push({ ...r, replay: Buffer.concat(chunks).toString("latin1") });
        s.end();
      });
      s.resume();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { server, port: (server.address() as AddressInfo).port, results };
  }

  function send(port: number, parts: string[], gapMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const c = net.connect(port, "127.0.0.1", async () => {
        for (const p of parts) {
          c.write(Buffer.from(p, "latin1"));
          await new Promise((r) => setTimeout(r, gapMs));
        }
        c.end();
      });
      c.on("error", reject);
      c.on("close", () => resolve());
      c.resume();
    });
  }

  it("split reads are joined, classified, and replayed byte for byte", async () => {
    const { server, port, results } = await sniffServer(500);
    try {
      await send(port, ["P", "RI * HTTP/2.0\r", "\n\r\nSM\r\n\r\n", "frames"], 15);
      await send(port, ["G", "ET / HTTP/1.1\r\n\r\n"], 15);
      expect(results.map((r) => r.protocol).sort()).toEqual(["http1", "http2"]);
      const h2 = results.find((r) => r.protocol === "http2");
      expect(h2?.replay).toBe(`${H2_PREFACE}frames`);
      expect(results.find((r) => r.protocol === "http1")?.replay).toBe("GET / HTTP/1.1\r\n\r\n");
    } finally {
      server.close();
    }
  });

  it("a silent client is opaque TCP after the bounded wait, and what it sends later is kept", async () => {
    const { server, port, results } = await sniffServer(50);
    try {
      const started = performance.now();
      await send(port, ["", "late bytes"], 120);
      expect(results[0]).toEqual({ protocol: "tcp", silent: true, replay: "late bytes" });
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      server.close();
    }
  });
});
