import type { IncomingMessage } from "node:http";

/**
 * An absolute-form request target (`GET http://orders.shop/a HTTP/1.1`) names the authority
 * itself, and RFC 9112 §3.2.2 says it wins over Host: routing on Host while the target says
 * otherwise would let one request mean two destinations. The request is rewritten to
 * origin-form with Host set from the target, so everything after sees one authority.
 * Returns false for a target that is absolute but not an http(s) URL with a host.
 */
export function toOriginForm(req: IncomingMessage): boolean {
  const target = req.url ?? "";
  if (target.startsWith("/") || target === "*") return true;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.host) return false;
  req.headers.host = url.host;
  req.url = `${url.pathname}${url.search}`;
  return true;
}
