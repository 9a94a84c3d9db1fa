import { X509Certificate } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type Clock, systemClock } from "../../clock/clock.ts";
import { createCsr, exportPrivateKeyPem, generateKeyPair } from "../../identity/keys.ts";
import { type RenewalPolicy, RenewalScheduler, type Validity } from "../../identity/renewal.ts";
import { signRenewalProof } from "../../identity/renewal-proof.ts";
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
  /** Bootstrap credential (`weft token create`); sent only when `current` is absent. */
  readonly credential: string;
  /**
   * Credentials held now (unexpired): when given, the request proves possession of their key
   * instead of sending `credential`, and the CA renews their SPIFFE ID. The rotator sets this.
   */
  readonly current?: IssuedCredentials;
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
 * leaves it), sends a CSR with the bootstrap credential, or with a renewal proof made with
 * `current`'s key, and returns key, chain and anchors.
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
  const authentication = options.current
    ? {
        case: "renewal" as const,
        value: await signRenewalProof({
          csrPem: csr,
          chainPem: options.current.chain,
          privateKey: options.current.key,
        }),
      }
    : { case: "credential" as const, value: options.credential };
  const res = await client.sign({ csrPem: csr, authentication }, { timeoutMs: options.timeoutMs ?? 10_000 });
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
  /**
   * Told when the certificate in use expired before it could be renewed (the CA was out of
   * reach that long), so the bootstrap credential is sent again instead of a renewal proof.
   */
  readonly onBootstrapFallback?: (expiredAt: Date) => void;
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
 * expires, so a control plane that is down for a while costs nothing. Renewals prove
 * possession of the certificate in use; the bootstrap credential is sent for the first
 * certificate only, and again only once the one in use has expired.
 */
export class CertificateRotator {
  readonly #scheduler: RenewalScheduler<IssuedCredentials>;
  #current: IssuedCredentials | undefined;

  private constructor(options: RotatorOptions) {
    const request = options.request ?? requestWorkloadCredentials;
    const wallNow = options.wallNow ?? Date.now;
    this.#scheduler = new RenewalScheduler<IssuedCredentials>({
      clock: options.clock ?? systemClock,
      wallNow,
      validity: validityOf,
      renew: () => {
        const current = this.#current;
        if (current && current.notAfter.getTime() > wallNow()) return request({ ...options, current });
        if (current) options.onBootstrapFallback?.(current.notAfter);
        return request({ ...options, current: undefined });
      },
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
   * Gets the first certificate, then keeps renewing it. `cached` (kept from an earlier run)
   * that is still valid is renewed with a proof of possession, and the bootstrap credential
   * is sent only if the CA refuses that proof. When the CA cannot be reached and `cached` is
   * still valid, starts with that and renews in the background (static stability); otherwise
   * throws, and nothing is served with mTLS.
   */
  static async start(options: RotatorOptions, cached?: IssuedCredentials): Promise<CertificateRotator> {
    const r = new CertificateRotator(options);
    const wallNow = options.wallNow ?? Date.now;
    const request = options.request ?? requestWorkloadCredentials;
    const usable = cached && cached.notAfter.getTime() > wallNow() ? cached : undefined;
    let first: IssuedCredentials;
    try {
      first = usable
        ? await request({ ...options, current: usable }).catch((e: unknown) => {
            if (unreachable(e)) throw e;
            return request({ ...options, current: undefined });
          })
        : await request({ ...options, current: undefined });
    } catch (e) {
      if (!usable) throw e;
      options.onCredentials(usable);
      r.#current = usable;
      r.#scheduler.failed(usable, e);
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

/** Whether a failed Sign call never reached a CA that could answer it (so asking again with the token is no use). */
function unreachable(e: unknown): boolean {
  const code = ConnectError.from(e).code;
  return code === Code.Unavailable || code === Code.DeadlineExceeded;
}

/** The validity window of the leaf (first certificate) of a credential set. */
function validityOf(credentials: IssuedCredentials): Validity {
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(credentials.chain)?.[0];
  if (!leaf) throw new Error("the issued chain holds no PEM certificate");
  const cert = new X509Certificate(leaf);
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}
