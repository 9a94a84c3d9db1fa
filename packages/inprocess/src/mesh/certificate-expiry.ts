import { X509Certificate } from "node:crypto";

/** notAfter of the leaf (the first certificate of a PEM chain), or undefined if unreadable. */
export function certificateExpiry(chainPem: string): Date | undefined {
  const leaf = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!leaf) return undefined;
  try {
    return new Date(new X509Certificate(leaf).validTo);
  } catch {
    return undefined;
  }
}
