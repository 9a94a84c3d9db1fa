import { constants } from "node:crypto";
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";

/**
 * A workload's TLS credentials: its private key, its certificate chain (leaf first) and the
 * mesh trust anchors (several while the CA rotates). PEM text throughout.
 */
export interface MeshCredentials {
  readonly key: string;
  readonly chain: string;
  readonly trustAnchors: readonly string[];
}

/** Key-exchange groups, in preference order, for both ends of a mesh connection. */
export const MESH_KEY_EXCHANGE_GROUPS = "X25519:P-256:P-384";

/** Options for a mesh secure context: TLS 1.3 only (as Linkerd), chains verified against the trust anchors. */
export function secureContextOptions(credentials: MeshCredentials): SecureContextOptions {
  if (credentials.trustAnchors.length === 0) {
    throw new Error("mesh credentials have no trust anchor: peers could not be verified");
  }
  return {
    key: credentials.key,
    cert: credentials.chain,
    ca: [...credentials.trustAnchors],
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
    // The key-exchange groups rustls (Linkerd) offers; OpenSSL's default list adds the slow
    // finite-field groups (ffdhe2048 is a 112-bit level) and x448/P-521, which no peer needs.
    ecdhCurve: MESH_KEY_EXCHANGE_GROUPS,
    // No resumption: each connection proves its identity in a full handshake (a resumed one skips
    // SVID expiry and bundle checks). Set here, as a server's setSecureContext drops unset options.
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}

export function meshSecureContext(credentials: MeshCredentials): SecureContext {
  return createSecureContext(secureContextOptions(credentials));
}
