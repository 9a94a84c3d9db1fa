import type { Clock, TimerHandle } from "../clock/clock.ts";

/** When to renew a workload certificate, and how to retry while the CA cannot be reached. */
export interface RenewalPolicy {
  /** Earliest renewal, as a fraction of the lifetime. */
  readonly minRatio: number;
  /** Latest renewal, as a fraction of the lifetime; each certificate gets a random point between. */
  readonly maxRatio: number;
  /**
   * Never renew sooner than this after a certificate is installed (ms), so a tiny lifetime or a
   * skewed clock cannot turn renewal into a hot loop; a certificate that would expire before
   * then is renewed at half its remaining time instead.
   */
  readonly minDelayMs: number;
  /** First retry delay after a failed renewal (ms); doubles per failure, with jitter. */
  readonly retryBaseMs: number;
  /** Ceiling of the retry delay (ms). */
  readonly retryMaxMs: number;
}

/** Renew between 50 % and 70 % of the lifetime, not within 10 s; retry from 1 s up to 30 s. */
export const DEFAULT_RENEWAL_POLICY: RenewalPolicy = {
  minRatio: 0.5,
  maxRatio: 0.7,
  minDelayMs: 10_000,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
};

/** A certificate's validity window, epoch ms (wall clock). */
export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Checks a policy, naming the field that is wrong. */
export function resolveRenewalPolicy(overrides: Partial<RenewalPolicy> = {}): RenewalPolicy {
  const p = { ...DEFAULT_RENEWAL_POLICY, ...overrides };
  if (!(p.minRatio > 0 && p.minRatio <= p.maxRatio && p.maxRatio < 1)) {
    throw new RangeError(
      `renewal ratios must satisfy 0 < minRatio <= maxRatio < 1, got ${p.minRatio} and ${p.maxRatio}`,
    );
  }
  if (!(p.minDelayMs >= 0)) throw new RangeError(`renewal minDelayMs must be >= 0, got ${p.minDelayMs}`);
  if (!(p.retryBaseMs > 0 && p.retryMaxMs >= p.retryBaseMs)) {
    throw new RangeError(
      `renewal retry delays must satisfy 0 < retryBaseMs <= retryMaxMs, got ${p.retryBaseMs} and ${p.retryMaxMs}`,
    );
  }
  return p;
}

/** Milliseconds from `now` until the certificate is to be renewed; `random` in [0, 1) picks the point. */
export function renewalDelay(validity: Validity, now: number, policy: RenewalPolicy, random: number): number {
  const lifetime = validity.notAfter - validity.notBefore;
  const ratio = policy.minRatio + (policy.maxRatio - policy.minRatio) * random;
  const due = validity.notBefore + lifetime * ratio - now;
  const floor = Math.min(policy.minDelayMs, Math.max(0, (validity.notAfter - now) / 2));
  return Math.max(floor, due);
}

/**
 * Milliseconds until the next attempt after `failures` failed ones (1 for the first): doubling
 * backoff with equal jitter, but never waiting past a quarter of the certificate's remaining
 * life, so the attempts crowd in as expiry nears rather than thin out.
 */
export function retryDelay(
  failures: number,
  validity: Validity,
  now: number,
  policy: RenewalPolicy,
  random: number,
): number {
  const exp = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** Math.max(0, failures - 1));
  const backoff = exp / 2 + (exp / 2) * random;
  return Math.min(backoff, Math.max(policy.retryBaseMs, (validity.notAfter - now) / 4));
}

export interface RenewalSchedulerOptions<T> {
  readonly clock: Clock;
  /** Wall-clock epoch ms: certificate times are wall time, Clock.now() is monotonic. */
  readonly wallNow: () => number;
  readonly validity: (credentials: T) => Validity;
  /** Gets new credentials from the CA. */
  readonly renew: () => Promise<T>;
  /** Given each renewed set (not the first, which the caller installs). */
  readonly onRenewed: (credentials: T) => void;
  readonly onError?: (error: unknown, retryInMs: number) => void;
  readonly policy?: Partial<RenewalPolicy>;
  /** [0, 1); Math.random when absent. */
  readonly random?: () => number;
}

/**
 * Keeps credentials fresh: renews each set at a random point of its policy window and, when
 * the CA fails, retries with backoff while the set in use keeps working until it expires.
 */
export class RenewalScheduler<T> {
  readonly #options: RenewalSchedulerOptions<T>;
  readonly #policy: RenewalPolicy;
  readonly #random: () => number;
  #timer: TimerHandle | undefined;
  #current: Validity | undefined;
  #failures = 0;
  #stopped = false;
  #lastDelayMs = 0;

  constructor(options: RenewalSchedulerOptions<T>) {
    this.#options = options;
    this.#policy = resolveRenewalPolicy(options.policy);
    this.#random = options.random ?? Math.random;
  }

  /** Schedules the renewal of `credentials`, just installed; returns the delay (ms). */
  installed(credentials: T): number {
    this.#current = this.#options.validity(credentials);
    this.#failures = 0;
    const delay = renewalDelay(this.#current, this.#options.wallNow(), this.#policy, this.#random());
    this.#arm(delay);
    return delay;
  }

  /** The CA failed before `credentials` (kept from earlier) could be replaced: retries with backoff. */
  failed(credentials: T, error: unknown): number {
    this.#current = this.#options.validity(credentials);
    return this.#retry(error);
  }

  /** The delay (ms) the pending renewal or retry was armed with. */
  get lastDelayMs(): number {
    return this.#lastDelayMs;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #retry(error: unknown): number {
    this.#failures++;
    const current = this.#current ?? { notBefore: 0, notAfter: 0 };
    const delay = retryDelay(this.#failures, current, this.#options.wallNow(), this.#policy, this.#random());
    this.#options.onError?.(error, delay);
    this.#arm(delay);
    return delay;
  }

  #arm(ms: number): void {
    if (this.#stopped) return;
    this.#lastDelayMs = ms;
    if (this.#timer) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = this.#options.clock.setTimeout(() => void this.#renew(), ms, { background: true });
  }

  async #renew(): Promise<void> {
    this.#timer = undefined;
    let next: T;
    try {
      next = await this.#options.renew();
      if (this.#stopped) return;
      // A set the caller cannot put in use counts as a failed renewal: the old one stays.
      this.#options.onRenewed(next);
    } catch (error) {
      if (!this.#stopped) this.#retry(error);
      return;
    }
    this.installed(next);
  }
}
