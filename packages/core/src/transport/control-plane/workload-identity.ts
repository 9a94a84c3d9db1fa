import { X509Certificate } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type Clock, systemClock } from "../../clock/clock.ts";
import { createCsr, exportPrivateKeyPem, generateKeyPair } from "../../identity/keys.ts";
import { type RenewalPolicy, RenewalScheduler, type Validity } from "../../identity/renewal.ts";
import { IdentityService } from "../../model.ts";
import type { MeshCredentials } from "../credentials.ts";

/** A workload's credentials from the mesh CA, and when they expire. */
export interface IssuedCredentials extends MeshCredentials {
  readonly spiffeId: string;
  readonly notAfter: Date;
}

export interface WorkloadIdentityOptions {
  /** The control plane, e.g. `http://127.0.0.1:15010`. */
  readonly url: string;
  /** Bootstrap credential (`weft token create`). */
  readonly credential: string;
  /**
   * The identity to ask for in the CSR. The CA decides the identity from the credential
   * alone; this only makes the request self-describing.
   */
  readonly spiffeId: string;
  /**
   * Gives up on a Sign call after this long (ms); 10 s when absent. A CA that accepts the call
   * and never answers would otherwise stall renewal for good.
   */
  readonly timeoutMs?: number;
}

/**
 * Gets a workload certificate: makes a key pair in this process (the private key never
 * leaves it), sends a CSR with the bootstrap credential, and returns key, chain and anchors.
 */
export async function requestWorkloadCredentials(
  options: WorkloadIdentityOptions,
): Promise<IssuedCredentials> {
  const keys = await generateKeyPair();
  const csr = await createCsr({ keys, spiffeId: options.spiffeId });
  const client = createClient(
    IdentityService,
    createConnectTransport({ baseUrl: options.url, httpVersion: "2" }),
  );
  const res = await client.sign(
    { csrPem: csr, credential: options.credential },
    { timeoutMs: options.timeoutMs ?? 10_000 },
  );
  const leafPem = res.certificateChainPem[0];
  if (!leafPem) throw new Error(`the CA at ${options.url} returned no certificate`);
  return {
    key: await exportPrivateKeyPem(keys.privateKey),
    chain: res.certificateChainPem.join("\n"),
    trustAnchors: res.trustAnchorsPem,
    spiffeId: res.spiffeId,
    notAfter: new Date(new X509Certificate(leafPem).validTo),
  };
}

export interface RotatorOptions extends WorkloadIdentityOptions {
  readonly clock?: Clock;
  /** Wall-clock epoch ms, against which certificate validity is read; Date.now when absent. */
  readonly wallNow?: () => number;
  /** Given each new set of credentials (the first included). */
  readonly onCredentials: (credentials: IssuedCredentials) => void;
  readonly onError?: (error: unknown, retryInMs: number) => void;
  /** When to renew and how to retry; see DEFAULT_RENEWAL_POLICY (50-70 % of the lifetime, not within 10 s). */
  readonly renewal?: Partial<RenewalPolicy>;
  /** Where renewals come from; a Sign call to `url` when absent (tests and custom CAs replace it). */
  readonly request?: (options: WorkloadIdentityOptions) => Promise<IssuedCredentials>;
  /** [0, 1) for the renewal point and retry jitter; Math.random when absent. */
  readonly random?: () => number;
}

/**
 * Keeps a workload's certificate fresh: renews at a random point between 50 % and 70 % of its
 * lifetime (so a fleet issued together does not renew in one burst), never within 10 s, and
 * retries with backoff while the CA is down; the certificate in use keeps working until it
 * expires, so a control plane that is down for a while costs nothing.
 */
export class CertificateRotator {
  readonly #scheduler: RenewalScheduler<IssuedCredentials>;
  #current: IssuedCredentials | undefined;

  private constructor(options: RotatorOptions) {
    const request = options.request ?? requestWorkloadCredentials;
    this.#scheduler = new RenewalScheduler<IssuedCredentials>({
      clock: options.clock ?? systemClock,
      wallNow: options.wallNow ?? Date.now,
      validity: validityOf,
      renew: () => request(options),
      onRenewed: (c) => {
        options.onCredentials(c);
        this.#current = c;
      },
      onError: options.onError,
      policy: options.renewal,
      random: options.random,
    });
  }

  /**
   * Gets the first certificate, then keeps renewing it. When the CA cannot be reached and
   * `cached` (kept from an earlier run) is still valid, starts with that and renews in the
   * background (static stability); otherwise throws, and nothing is served with mTLS.
   */
  static async start(options: RotatorOptions, cached?: IssuedCredentials): Promise<CertificateRotator> {
    const r = new CertificateRotator(options);
    const wallNow = options.wallNow ?? Date.now;
    let first: IssuedCredentials;
    try {
      first = await (options.request ?? requestWorkloadCredentials)(options);
    } catch (e) {
      if (!cached || cached.notAfter.getTime() <= wallNow()) throw e;
      options.onCredentials(cached);
      r.#current = cached;
      r.#scheduler.failed(cached, e);
      return r;
    }
    options.onCredentials(first);
    r.#current = first;
    r.#scheduler.installed(first);
    return r;
  }

  get current(): IssuedCredentials | undefined {
    return this.#current;
  }

  /** The delay (ms) the last renewal or retry was scheduled with, for logs and tests. */
  get nextAttemptInMs(): number {
    return this.#scheduler.lastDelayMs;
  }

  stop(): void {
    this.#scheduler.stop();
  }
}

/** The validity window of the leaf (first certificate) of a credential set. */
function validityOf(credentials: IssuedCredentials): Validity {
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(credentials.chain)?.[0];
  if (!leaf) throw new Error("the issued chain holds no PEM certificate");
  const cert = new X509Certificate(leaf);
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}
