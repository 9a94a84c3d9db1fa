import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "@weft/core/model";
import { fromRpcError } from "./cli-error.ts";

export const DEFAULT_SERVER = "http://127.0.0.1:15010";

/** Calls the admin API once and closes the connection, so the command can exit. */
export async function withAdmin<T>(
  server: string,
  call: (admin: Client<typeof AdminService>) => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const sessionManager = new Http2SessionManager(server);
  const transport = createConnectTransport({
    baseUrl: server,
    httpVersion: "2",
    useBinaryFormat: true,
    sessionManager,
    defaultTimeoutMs: timeoutMs,
  });
  try {
    return await call(createClient(AdminService, transport));
  } catch (e) {
    throw fromRpcError(e, server);
  } finally {
    sessionManager.abort();
  }
}
