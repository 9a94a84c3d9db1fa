import { fromJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, MeshError, newCall } from "@weft/core";
import type { Mesh } from "@weft/inprocess";
import { type Item, ItemSchema } from "../gen/shop/catalog/v1/catalog_pb.js";

/** What the mesh's in-process terminal answers a plain HTTP call with (connect's universal response). */
interface HttpBody {
  readonly status: number;
  readonly body?: AsyncIterable<Uint8Array>;
}

/**
 * A REST client of the catalog through the in-process mesh: `GET /v1/items/{sku}` (the
 * google.api.http rule of catalog.proto) runs the same outbound chain as an RPC (route,
 * timeout, retry, balancing, mTLS to the catalog's sidecar), and the JSON body is read
 * into the generated `Item` message.
 */
export function catalogClient(mesh: Mesh, namespace = "shop") {
  return {
    async getItem(sku: string, signal?: AbortSignal): Promise<Item> {
      const path = `/v1/items/${encodeURIComponent(sku)}`;
      const call = newCall({
        kind: "unary",
        place: "client",
        service: "catalog",
        namespace,
        path,
        httpMethod: "GET",
        headers: { accept: "application/json" },
        idempotent: true,
        signal,
      });
      let res: Awaited<ReturnType<typeof mesh.dataPlane.outbound>>;
      try {
        res = await mesh.dataPlane.outbound(call);
      } catch (e) {
        // The mesh's own failures keep their code (unavailable, deadline_exceeded...) for our callers.
        if (e instanceof MeshError) throw new ConnectError(`catalog GET ${path}: ${e.message}`, e.code);
        throw e;
      }
      const body = res.body as HttpBody;
      let text = "";
      if (body.body) {
        const decoder = new TextDecoder();
        for await (const chunk of body.body) text += decoder.decode(chunk, { stream: true });
        text += decoder.decode();
      }
      if (res.status !== 200) {
        throw new ConnectError(
          `catalog GET ${path}: HTTP ${res.status} ${text.slice(0, 200)}`,
          codeFromHttpStatus(res.status) ?? Code.Unknown,
        );
      }
      return fromJson(ItemSchema, JSON.parse(text));
    },
  };
}
