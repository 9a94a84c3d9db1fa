// A stand-in for the control plane's identity service (core may not depend on the control-plane
// package): the same Sign RPC over h2c on 127.0.0.1, signing with core's signLeaf, whose root,
// trust bundle, leaf lifetime and availability a test changes while workloads run.
import { createServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  type CertificateAuthority,
  presentedChain,
  signLeaf,
  verifyRenewalProof,
} from "../../../src/identity/index.ts";
import { IdentityService } from "../../../src/model.ts";

export type CaMode = "serve" | "refuse" | "withhold";

export interface TestCaServer {
  readonly url: string;
  /** How many certificates it signed. */
  readonly signed: number;
  /** How many of the Sign calls it accepted came with a renewal proof rather than a credential. */
  readonly renewed: number;
  /** Sign with `ca` from now on. */
  setSigner(ca: CertificateAuthority): void;
  /** Hand out these roots as trust anchors from now on. */
  setAnchors(anchors: readonly CertificateAuthority[]): void;
  /** "refuse" answers Unavailable; "withhold" keeps each call open until set back to "serve". */
  setMode(mode: CaMode): void;
  close(): Promise<void>;
}

/**
 * `identities` maps a bootstrap credential to the SPIFFE ID it proves; a renewal proof proves
 * the SPIFFE ID of a leaf under one of the anchors handed out now. Leaves live `ttlMs` from a
 * second before the call.
 */
export async function startTestCa(options: {
  signer: CertificateAuthority;
  identities: Readonly<Record<string, string>>;
  ttlMs: number;
}): Promise<TestCaServer> {
  let signer = options.signer;
  let anchors = [options.signer];
  let mode: CaMode = "serve";
  let signed = 0;
  let renewed = 0;
  let release: (() => void) | undefined;
  let released = Promise.resolve();
  const handler = connectNodeAdapter({
    routes: (router) => {
      router.service(IdentityService, {
        async sign(req) {
          if (mode === "withhold") await released;
          if (mode === "refuse") throw new ConnectError("the test CA is down", Code.Unavailable);
          const now = Date.now();
          const auth = req.authentication;
          let spiffeId: string | undefined;
          if (auth.case === "renewal") {
            const verdict = await verifyRenewalProof({
              csrPem: req.csrPem,
              proof: auth.value,
              trustAnchors: anchors.map((a) => a.certificate),
              trustDomain: "weft.local",
              now,
            });
            if (!verdict.ok) throw new ConnectError(verdict.message, Code.PermissionDenied);
            spiffeId = verdict.identity.spiffeId;
            renewed++;
          } else {
            spiffeId = auth.case === "credential" ? options.identities[auth.value] : undefined;
            if (!spiffeId) throw new ConnectError("unknown credential", Code.Unauthenticated);
          }
          const leaf = await signLeaf({
            csr: req.csrPem,
            ca: signer,
            spiffeId,
            notBefore: now - 1_000,
            notAfter: now + options.ttlMs,
          });
          signed++;
          return {
            certificateChainPem: presentedChain(leaf, signer).map((c) => c.toString("pem")),
            trustAnchorsPem: anchors.map((a) => a.certificate.toString("pem")),
            spiffeId,
          };
        },
      });
    },
  });
  const server = createServer({}, handler);
  const sessions = new Set<Http2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get signed() {
      return signed;
    },
    get renewed() {
      return renewed;
    },
    setSigner(ca) {
      signer = ca;
    },
    setAnchors(list) {
      anchors = [...list];
    },
    setMode(next) {
      if (next === "withhold" && mode !== "withhold") {
        released = new Promise<void>((resolve) => {
          release = resolve;
        });
      }
      mode = next;
      if (next !== "withhold") release?.();
    },
    async close() {
      release?.();
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
