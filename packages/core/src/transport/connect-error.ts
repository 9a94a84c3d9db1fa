/** The stage a connection attempt failed in: a failure in any of them means nothing was sent. */
export type ConnectPhase = "tcp" | "tls" | "h2";

/** A connection attempt that failed; the pool turns it into a MeshError with neverSent. */
export class ConnectError extends Error {
  override readonly name = "ConnectError";
  readonly phase: ConnectPhase;
  /** errno-style code of the cause (ECONNREFUSED, ERR_SSL_...), when there is one. */
  readonly code: string | undefined;

  constructor(phase: ConnectPhase, message: string, cause?: unknown) {
    super(message, { cause });
    this.phase = phase;
    this.code = (cause as { code?: unknown } | undefined)?.code as string | undefined;
  }
}
