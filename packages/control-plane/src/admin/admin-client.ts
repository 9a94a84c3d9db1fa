import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, type Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "@weft/core/model";

/** Where an admin API is, and the token it asks for (`ControlPlane` is one). */
export interface AdminTarget {
  readonly url: string;
  /** Undefined sends none: the control plane then refuses, saying where its token is kept. */
  readonly adminToken: string | undefined;
}

export interface AdminClientOptions {
  /** The HTTP/2 session to use (abort it to close the connection); one of its own otherwise. */
  sessionManager?: Http2SessionManager;
  /** Default deadline of every call. */
  timeoutMs?: number;
}

/** A client of a control plane's admin API that presents its admin token on every call. */
export function createAdminClient(
  target: AdminTarget,
  options: AdminClientOptions = {},
): Client<typeof AdminService> {
  const token = target.adminToken;
  const bearer: Interceptor = (next) => (req) => {
    if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: target.url,
    httpVersion: "2",
    useBinaryFormat: true,
    sessionManager: options.sessionManager,
    defaultTimeoutMs: options.timeoutMs,
    interceptors: [bearer],
  });
  return createClient(AdminService, transport);
}
