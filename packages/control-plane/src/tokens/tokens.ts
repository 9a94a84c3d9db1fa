import { createHash, randomBytes } from "node:crypto";
import type { ConfigStore, TokenRecord } from "../store/config-store.ts";

/** Bootstrap tokens live one hour unless asked otherwise: long enough to start a workload. */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
const PREFIX = "weft_bt_";
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface IssuedToken {
  token: string;
  expiresAtMs: number;
}

/** Whom a valid token speaks for. */
export interface TokenSubject {
  namespace: string;
  serviceAccount: string;
  expiresAtMs: number;
}

/**
 * Issues a bootstrap token for one workload identity. Only its SHA-256 is stored: a copy
 * of the data directory does not let anyone mint certificates. Throws RangeError for a
 * name that cannot be part of a SPIFFE ID.
 */
export async function issueToken(
  store: ConfigStore,
  request: { namespace: string; serviceAccount: string; ttlSeconds?: number; nowMs?: number },
): Promise<IssuedToken> {
  const namespace = request.namespace || "default";
  if (!LABEL.test(request.serviceAccount))
    throw new RangeError(
      `service account "${request.serviceAccount}" must be lowercase letters, digits and "-", 1 to 63 characters`,
    );
  if (!LABEL.test(namespace))
    throw new RangeError(
      `namespace "${namespace}" must be lowercase letters, digits and "-", 1 to 63 characters`,
    );
  const now = request.nowMs ?? Date.now();
  const ttl = request.ttlSeconds || DEFAULT_TOKEN_TTL_SECONDS;
  const token = `${PREFIX}${randomBytes(32).toString("base64url")}`;
  const record: TokenRecord = {
    hash: hashToken(token),
    namespace,
    serviceAccount: request.serviceAccount,
    createdAtMs: now,
    expiresAtMs: now + ttl * 1000,
  };
  await store.putToken(record);
  return { token, expiresAtMs: record.expiresAtMs };
}

/** The identity a bootstrap token was issued for, or undefined when it is unknown or expired. */
export async function verifyToken(
  store: ConfigStore,
  token: string,
  nowMs: number = Date.now(),
): Promise<TokenSubject | undefined> {
  if (!token.startsWith(PREFIX)) return undefined;
  const record = await store.getToken(hashToken(token));
  if (!record || record.expiresAtMs <= nowMs) return undefined;
  return {
    namespace: record.namespace,
    serviceAccount: record.serviceAccount,
    expiresAtMs: record.expiresAtMs,
  };
}

function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
