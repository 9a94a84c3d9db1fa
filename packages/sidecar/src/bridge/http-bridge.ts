import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ERROR_HEADER, type Place } from "@weft/core";
import type { Stats } from "../admin/stats.ts";
import { type FrontRequest, type FrontResponse, type InFlight, responseEnded } from "../http/proxy.ts";
import type { MeshUpstream } from "../http/upstream.ts";
import { type BridgeRoute, BridgeRoutes } from "./bridge-routes.ts";
import { BridgeError, exchangeFrame } from "./frame-exchange.ts";
import { failureReason, tunnelFailureStatus } from "./tunnel-status.ts";

/** Opens an L4 tunnel to `authority` through an endpoint of a mesh service (MeshWire.tunnel). */
export type OpenTunnel = (upstream: MeshUpstream, authority: string, signal: AbortSignal) => Promise<Duplex>;

type Serve = (req: FrontRequest, res: FrontResponse) => void;

/**
 * HTTP to a framed TCP port of a mesh service (Port.http_bridge): a POST to the port's
 * authority (`http://cache.shop:6379/`) opens a tunnel to it through the mesh, writes the body
 * as one frame, and answers the first frame read back (200, application/octet-stream). Each
 * failure is its own status with a `weft-error` reason: 413 request too large, 400 body that
 * cannot be framed, 502/503 port unreachable or bad response frame, 504 no frame in time.
 */
export class HttpBridge {
  /** Replaced whole when a new config is applied. */
  routes: BridgeRoutes = BridgeRoutes.empty;
  readonly #open: OpenTunnel;
  readonly #stats: Stats;
  readonly #place: Place;

  constructor(open: OpenTunnel, stats: Stats, place: Place = "sidecar-outbound") {
    this.#open = open;
    this.#stats = stats;
    this.#place = place;
  }

  /** A front handler: bridged requests here, every other one to `next`. */
  handler(next: Serve, inFlight: InFlight): Serve {
    return (req, res) => {
      const routes = this.routes;
      const route =
        routes.size === 0
          ? undefined
          : routes.lookup((req.headers[":authority"] as string | undefined) ?? req.headers.host ?? "");
      if (!route) {
        next(req, res);
        return;
      }
      inFlight.track(res);
      this.#serve(route, req, res).then(
        (result) => this.#stats.inc("weft_sidecar_bridge_requests_total", { place: this.#place, result }),
        () => {},
      );
    };
  }

  async #serve(route: BridgeRoute, req: FrontRequest, res: FrontResponse): Promise<string> {
    const target = `${route.service}.${route.namespace}:${route.port}`;
    const abort = new AbortController();
    req.once("aborted", () => abort.abort());
    res.once("close", () => {
      if (!responseEnded(res)) abort.abort();
    });
    const timer = setTimeout(
      () =>
        abort.abort(new BridgeError(504, `no response frame from ${target} within ${route.timeoutMs} ms`)),
      route.timeoutMs,
    );
    let tunnel: Duplex | undefined;
    try {
      if (req.method !== "POST") {
        throw new BridgeError(
          405,
          `${target} is a TCP port behind an HTTP bridge: send the request frame as a POST body`,
        );
      }
      const body = await readBody(req, route.maxFrameBytes, target, abort.signal);
      let frame: Uint8Array;
      try {
        frame = route.codec.encode(body);
      } catch (e) {
        // Any error of the codec (a user's may throw more than FrameError) is a refusal of the body.
        throw new BridgeError(
          400,
          `request body cannot be sent to ${target} as one ${route.codec.name} frame: ${failureReason(e)}`,
          { cause: e },
        );
      }
      try {
        tunnel = await this.#open(
          { protocol: "mesh", service: route.service, namespace: route.namespace, tunnelAuthority: target },
          target,
          abort.signal,
        );
      } catch (e) {
        if (abort.signal.reason instanceof BridgeError) throw abort.signal.reason;
        throw new BridgeError(tunnelFailureStatus(e), `cannot reach ${target}: ${failureReason(e)}`, {
          cause: e,
        });
      }
      const answer = await exchangeFrame(tunnel, frame, route.codec.createDecoder(), target, abort.signal);
      (res as ServerResponse).writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": answer.length,
      });
      res.end(answer);
      return "ok";
    } catch (err) {
      const e =
        err instanceof BridgeError
          ? err
          : new BridgeError(500, `bridge to ${target} failed: ${failureReason(err)}`, { cause: err });
      if (!res.headersSent && !res.destroyed) refuse(req, res, e);
      return String(e.status);
    } finally {
      clearTimeout(timer);
      tunnel?.destroy();
    }
  }
}

/** The whole request body, refused with 413 past `max` bytes (by content-length, or as it arrives). */
function readBody(req: FrontRequest, max: number, target: string, signal: AbortSignal): Promise<Uint8Array> {
  const tooLarge = (n: number | string) =>
    new BridgeError(413, `request body of ${n} bytes exceeds the ${max}-byte frame limit of ${target}`);
  const declared = Number(req.headers["content-length"] ?? -1);
  if (declared > max) return Promise.reject(tooLarge(declared));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    req.on("data", (c: Buffer) => {
      length += c.length;
      if (length > max) {
        req.pause();
        reject(tooLarge(`more than ${max}`));
        return;
      }
      chunks.push(c);
    });
    req.once("end", () => resolve(Buffer.concat(chunks, length)));
    req.once("error", reject);
    // A client that never finishes its body gets the timeout's 504 too.
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

function refuse(req: FrontRequest, res: FrontResponse, e: BridgeError): void {
  const h1 = req.httpVersionMajor !== 2;
  // An unread body (413) would be parsed as the next request: the connection ends with this one.
  if (h1 && !req.complete) (res as ServerResponse).shouldKeepAlive = false;
  const headers: Record<string, string> = {
    "content-type": "text/plain; charset=utf-8",
    [ERROR_HEADER]: e.message.replace(/[\r\n]+/g, " "),
  };
  if (e.status === 405) headers.allow = "POST";
  (res as ServerResponse).writeHead(e.status === 499 ? 400 : e.status, headers);
  res.end(`${e.message}\n`);
}
