import { beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  createCsr,
  createRootCa,
  generateKeyPair,
  rotationDue,
  rotationTime,
  signLeaf,
  type x509,
} from "../../src/identity/index.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);
const WEB = "spiffe://weft.local/ns/shop/sa/web";

let ca: CertificateAuthority;
let csr: string;
const issue = (): Promise<x509.X509Certificate> =>
  signLeaf({ csr, ca, spiffeId: WEB, notBefore: T0, notAfter: T0 + 24 * HOUR });

beforeAll(async () => {
  ca = await createRootCa({ trustDomain: "weft.local", notBefore: T0 - HOUR, notAfter: T0 + 1000 * HOUR });
  csr = await createCsr({ keys: await generateKeyPair(), spiffeId: WEB });
});

describe("rotationDue", () => {
  it("flips at half-life of a 24 h certificate", async () => {
    const leaf = await issue();
    expect(rotationDue(leaf, T0)).toBe(false);
    expect(rotationDue(leaf, T0 + 12 * HOUR - 1)).toBe(false);
    expect(rotationDue(leaf, T0 + 12 * HOUR)).toBe(true);
    expect(rotationDue(leaf.toString("pem"), new Date(T0 + 12 * HOUR))).toBe(true);
    expect(rotationDue(leaf, T0 + 30 * HOUR)).toBe(true);
  });

  it("takes another ratio", async () => {
    const leaf = await issue();
    expect(rotationTime(leaf, { ratio: 0.7 })).toBe(T0 + Math.floor(24 * HOUR * 0.7));
    expect(() => rotationTime(leaf, { ratio: 1 })).toThrow("between 0 and 1");
  });

  it("with jitter, spreads certificates around half-life, each at a stable time", async () => {
    const times: number[] = [];
    for (let i = 0; i < 24; i++) {
      const leaf = await issue();
      const t = rotationTime(leaf, { jitter: 0.1 });
      expect(rotationTime(leaf, { jitter: 0.1 })).toBe(t);
      // ±5% of 24 h around 12 h.
      expect(t).toBeGreaterThanOrEqual(T0 + 12 * HOUR - 0.05 * 24 * HOUR);
      expect(t).toBeLessThanOrEqual(T0 + 12 * HOUR + 0.05 * 24 * HOUR);
      expect(rotationDue(leaf, t - 1, { jitter: 0.1 })).toBe(false);
      expect(rotationDue(leaf, t, { jitter: 0.1 })).toBe(true);
      times.push(t);
    }
    expect(new Set(times).size).toBeGreaterThan(20);
  });

  it("refuses jitter that could leave the lifetime, and input that is no certificate", async () => {
    expect(() => rotationTime("not a certificate")).toThrow("not an X.509 certificate");
    const leaf = await issue();
    expect(() => rotationTime(leaf, { jitter: 1 })).toThrow("inside the certificate's lifetime");
  });
});
