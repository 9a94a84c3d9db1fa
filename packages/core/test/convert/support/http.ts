import type { UniversalClientFn, UniversalClientRequest } from "@connectrpc/connect/protocol";
import { concatBytes } from "../../../src/convert/byte-queue.ts";

export async function readAll(body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  if (body) for await (const chunk of body) parts.push(chunk);
  return parts.length === 0 ? new Uint8Array(0) : concatBytes(parts);
}

export async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

export interface Exchanged {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
  readonly trailers: Headers;
}

/** Sends a whole request through a universal handler and reads the whole response. */
export async function exchange(
  handler: UniversalClientFn,
  request: UniversalClientRequest,
  body: Uint8Array,
): Promise<Exchanged> {
  const response = await handler({ ...request, body: once(body) });
  const bytes = await readAll(response.body);
  return { status: response.status, headers: response.header, body: bytes, trailers: response.trailer };
}
