import type { Instant } from "./certificates.ts";
import { type CertificateInput, toCertificate } from "./x509.ts";

export interface RotationOptions {
  /** Fraction of the lifetime after which to rotate; 0.5 (half-life, as Istio does) when absent. */
  ratio?: number;
  /**
   * Spread, as a fraction of the lifetime, of the rotation time around `ratio` (±jitter/2),
   * so a fleet whose certificates were issued together does not renew in one burst. The
   * offset is derived from the certificate's serial: stable for one certificate, varied
   * across certificates. 0 when absent.
   */
  jitter?: number;
}

/** When a certificate should be renewed (epoch ms). */
export function rotationTime(cert: CertificateInput, options: RotationOptions = {}): number {
  const c = toCertificate(cert);
  const ratio = options.ratio ?? 0.5;
  const jitter = options.jitter ?? 0;
  if (!(ratio > 0 && ratio < 1)) throw new Error(`rotation ratio must be between 0 and 1, got ${ratio}`);
  if (!(jitter >= 0 && jitter < 2 * Math.min(ratio, 1 - ratio))) {
    throw new Error(
      `rotation jitter ${jitter} must keep the rotation time inside the certificate's lifetime`,
    );
  }
  const from = c.notBefore.getTime();
  const lifetime = c.notAfter.getTime() - from;
  const offset = jitter === 0 ? 0 : (unitFromSerial(c.serialNumber) - 0.5) * jitter;
  return from + Math.floor(lifetime * (ratio + offset));
}

/** True once `now` has reached the certificate's rotation time (about half-life by default). */
export function rotationDue(cert: CertificateInput, now: Instant, options: RotationOptions = {}): boolean {
  return (typeof now === "number" ? now : now.getTime()) >= rotationTime(cert, options);
}

/** A number in [0, 1) from the serial's low 32 bits (serials are random, so this is spread evenly). */
function unitFromSerial(serialHex: string): number {
  const low = Number.parseInt(serialHex.slice(-8) || "0", 16);
  return (Number.isNaN(low) ? 0 : low) / 2 ** 32;
}
