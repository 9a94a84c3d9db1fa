/**
 * grpc.health.v1 messages by hand (protobuf wire format), so probes need no generated code:
 *   HealthCheckRequest  { string service = 1; }
 *   HealthCheckResponse { ServingStatus status = 1; }  SERVING = 1
 */

export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";

export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

/** A gRPC length-prefixed message (uncompressed) carrying HealthCheckRequest{service}. */
export function encodeHealthCheckRequest(service: string): Uint8Array {
  const name = new TextEncoder().encode(service);
  const field = name.length === 0 ? new Uint8Array(0) : concat([[0x0a], varint(name.length)], name);
  const frame = new Uint8Array(5 + field.length);
  new DataView(frame.buffer).setUint32(1, field.length);
  frame.set(field, 5);
  return frame;
}

/**
 * The status in a gRPC-framed HealthCheckResponse; undefined when the bytes are not one
 * (compressed, truncated, malformed). Unknown fields are skipped, as protobuf requires.
 */
export function decodeHealthCheckResponse(body: Uint8Array): number | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1);
  if (body.length < 5 + length) return undefined;
  const msg = body.subarray(5, 5 + length);
  let status = ServingStatus.UNKNOWN as number;
  let pos = 0;
  while (pos < msg.length) {
    const tag = readVarint(msg, pos);
    if (!tag) return undefined;
    pos = tag.next;
    const field = tag.value >>> 3;
    const wire = tag.value & 7;
    if (wire === 0) {
      const v = readVarint(msg, pos);
      if (!v) return undefined;
      pos = v.next;
      if (field === 1) status = v.value;
    } else if (wire === 2) {
      const len = readVarint(msg, pos);
      if (!len) return undefined;
      pos = len.next + len.value;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else return undefined;
    if (pos > msg.length) return undefined;
  }
  return status;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function readVarint(buf: Uint8Array, start: number): { value: number; next: number } | undefined {
  let value = 0;
  let shift = 0;
  for (let pos = start; pos < buf.length && shift < 35; pos++) {
    const byte = buf[pos] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: pos + 1 };
    shift += 7;
  }
  return undefined;
}

function concat(prefix: number[][], tail: Uint8Array): Uint8Array {
  const head = prefix.flat();
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}
