import { X509Certificate } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type Clock, systemClock, type TimerHandle } from "../../clock/clock.ts";
import { createCsr, exportPrivateKeyPem, generateKeyPair } from "../../identity/keys.ts";
import { rotationTime } from "../../identity/rotation.ts";
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
  const res = await client.sign({ csrPem: csr, credential: options.credential });
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
  /** Given each new set of credentials (the first included). */
  readonly onCredentials: (credentials: IssuedCredentials) => void;
  readonly onError?: (error: unknown, retryInMs: number) => void;
  /** Retry delay after a failed renewal. Default 5 s. */
  readonly retryMs?: number;
}

/**
 * Keeps a workload's certificate fresh: renews at about half its lifetime (with a little
 * jitter so a fleet does not renew at once), retrying on failure until it works; the
 * certificate in use keeps working until it expires, so a control plane that is down for
 * a while costs nothing.
 */
export class CertificateRotator {
  readonly #options: RotatorOptions;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #stopped = false;
  #current: IssuedCredentials | undefined;

  private constructor(options: RotatorOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Gets the first certificate, then keeps renewing it. When the CA cannot be reached and
   * `cached` (kept from an earlier run) is still valid, starts with that and renews in the
   * background (static stability); otherwise throws.
   */
  static async start(options: RotatorOptions, cached?: IssuedCredentials): Promise<CertificateRotator> {
    const r = new CertificateRotator(options);
    try {
      r.#install(await requestWorkloadCredentials(options));
    } catch (e) {
      if (!cached || cached.notAfter.getTime() <= Date.now()) throw e;
      const retry = options.retryMs ?? 5_000;
      options.onError?.(e, retry);
      r.#current = cached;
      options.onCredentials(cached);
      r.#schedule(retry);
    }
    return r;
  }

  get current(): IssuedCredentials | undefined {
    return this.#current;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
  }

  #install(credentials: IssuedCredentials): void {
    this.#current = credentials;
    this.#options.onCredentials(credentials);
    const leaf =
      credentials.chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? "";
    const at = rotationTime(leaf, { jitter: 0.05 });
    this.#schedule(Math.max(0, at - Date.now()));
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => void this.#renew(), ms, { background: true });
  }

  async #renew(): Promise<void> {
    try {
      const next = await requestWorkloadCredentials(this.#options);
      if (!this.#stopped) this.#install(next);
    } catch (e) {
      const retry = this.#options.retryMs ?? 5_000;
      this.#options.onError?.(e, retry);
      this.#schedule(retry);
    }
  }
}
