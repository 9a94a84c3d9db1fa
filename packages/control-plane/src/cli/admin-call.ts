import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Client } from "@connectrpc/connect";
import { Http2SessionManager } from "@connectrpc/connect-node";
import type { AdminService } from "@weft/core/model";
import { type AdminTarget, createAdminClient } from "../admin/admin-client.ts";
import { ADMIN_TOKEN_FILE } from "../admin/admin-token.ts";
import { CliError, fromRpcError } from "./cli-error.ts";

const DEFAULT_SERVER = "http://127.0.0.1:15010";

/** Where `weft control-plane` keeps its data by default, relative to where it was started. */
const DEFAULT_DATA_DIR = "weft-data";

/**
 * The control plane a command talks to, from its `serverOption`s: `--server`, else
 * WEFT_SERVER, else the default; and the admin token to present (see adminToken).
 */
export async function adminTarget(
  values: { server?: string; "admin-token-file"?: string },
  env: Record<string, string | undefined>,
): Promise<AdminTarget> {
  return {
    url: values.server ?? env.WEFT_SERVER ?? DEFAULT_SERVER,
    adminToken: await adminToken(values, env),
  };
}

/**
 * The admin token to present: the file `--admin-token-file` names, else WEFT_ADMIN_TOKEN,
 * else the one a control plane started in this directory keeps (`weft-data/admin-token`),
 * else none (the control plane then says where to find it).
 */
async function adminToken(
  values: { "admin-token-file"?: string },
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  const file = values["admin-token-file"];
  if (file !== undefined) {
    try {
      const token = (await readFile(file, "utf8")).trim();
      if (token) return token;
    } catch (e) {
      throw new CliError(`cannot read --admin-token-file ${file}: ${(e as Error).message}`);
    }
    throw new CliError(`--admin-token-file ${file} is empty`);
  }
  const fromEnv = env.WEFT_ADMIN_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  try {
    return (await readFile(join(DEFAULT_DATA_DIR, ADMIN_TOKEN_FILE), "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Calls the admin API once and closes the connection, so the command can exit. */
export async function withAdmin<T>(
  target: AdminTarget,
  call: (admin: Client<typeof AdminService>) => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const sessionManager = new Http2SessionManager(target.url);
  const admin = createAdminClient(target, { sessionManager, timeoutMs });
  try {
    return await call(admin);
  } catch (e) {
    throw fromRpcError(e, target.url);
  } finally {
    sessionManager.abort();
  }
}
