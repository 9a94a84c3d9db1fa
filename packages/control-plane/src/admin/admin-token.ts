import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** The file, in the control plane's data directory, that holds the admin token. */
export const ADMIN_TOKEN_FILE = "admin-token";

const PREFIX = "weft-admin-";
/** A token as the control plane makes them: the prefix, then 32 random bytes (base64url). */
const TOKEN_FORM = /^[A-Za-z0-9._~+/=-]{16,512}$/;

/** A new admin token: 256 random bits, prefixed so a leaked one is recognisable in a scan. */
export function newAdminToken(): string {
  return `${PREFIX}${randomBytes(32).toString("base64url")}`;
}

export interface AdminTokenSource {
  /** A token to use as it is (embedding, tests). */
  given?: string;
  /** Where the token file is kept (`<dataDir>/admin-token`). */
  dataDir?: string;
  /** A store shared by replicas (etcd): the token is kept there, so every replica accepts it. */
  shared?: (create: () => string) => Promise<string>;
}

export interface AdminToken {
  readonly token: string;
  /** The file a local `weft` command reads it from; undefined when the token was given. */
  readonly file: string | undefined;
}

/**
 * The admin API's token: the one given, else the shared store's (made by the first replica),
 * else the one in `<dataDir>/admin-token`, made on first start. The file is written with
 * mode 0600 either way, so the `weft` command run where the control plane keeps its data
 * is let in without further set-up, and nobody else on the machine is.
 */
export async function loadAdminToken(source: AdminTokenSource): Promise<AdminToken> {
  if (source.given !== undefined)
    return { token: checked(source.given, "the admin token given"), file: undefined };
  if (source.dataDir === undefined) throw new Error("the admin token needs a data directory, or to be given");
  const file = join(source.dataDir, ADMIN_TOKEN_FILE);
  if (source.shared) {
    const token = checked(await source.shared(newAdminToken), "the shared store's admin token");
    if ((await readToken(file)) !== token) await writeFile(file, `${token}\n`, { mode: 0o600 });
    return { token, file };
  }
  const existing = await readToken(file);
  if (existing !== undefined) return { token: checked(existing, file), file };
  const token = newAdminToken();
  try {
    // "wx": of two control planes started on one directory at once, the first one's token stays.
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
    return { token, file };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return { token: checked((await readToken(file)) ?? "", file), file };
  }
}

async function readToken(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function checked(token: string, where: string): string {
  if (!TOKEN_FORM.test(token)) {
    throw new Error(`${where} is not an admin token (16 to 512 URL-safe characters, no spaces)`);
  }
  return token;
}

/**
 * Lets an admin call in only with `authorization: Bearer <token>`. Tokens are compared as
 * SHA-256 digests in constant time, so neither the length nor a prefix of the token leaks
 * through response times. `hint` says where an operator finds the token.
 */
export function requireAdminToken(token: string, hint: string): Interceptor {
  const expected = digest(token);
  return (next) => (req) => {
    const header = req.header.get("authorization");
    const presented = header?.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : undefined;
    if (presented === undefined) {
      throw new ConnectError(
        `the admin API needs the admin token (authorization: Bearer); ${hint}`,
        Code.Unauthenticated,
      );
    }
    if (!timingSafeEqual(digest(presented), expected)) {
      throw new ConnectError(
        `the admin token presented is not this control plane's; ${hint}`,
        Code.Unauthenticated,
      );
    }
    return next(req);
  };
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
