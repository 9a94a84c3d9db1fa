/**
 * xxHash32 (Yann Collet; spec: github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md),
 * written out so the hash balancers need no dependency and no Node built-in. It is fast,
 * well mixed and not cryptographic: fine for placing keys, not for anything an attacker
 * must not predict.
 */
const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, i: number): number {
  return (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24);
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
}

/** xxHash32 of the first `length` bytes of `bytes`, as an unsigned 32-bit integer. */
export function xxhash32(bytes: Uint8Array, seed = 0, length = bytes.length): number {
  let i = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    for (const limit = length - 16; i <= limit; i += 16) {
      v1 = round(v1, read32(bytes, i));
      v2 = round(v2, read32(bytes, i + 4));
      v3 = round(v3, read32(bytes, i + 8));
      v4 = round(v4, read32(bytes, i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + length) | 0;
  for (; i + 4 <= length; i += 4) {
    h = Math.imul(rotl((h + Math.imul(read32(bytes, i), P3)) | 0, 17), P4);
  }
  for (; i < length; i++) {
    h = Math.imul(rotl((h + Math.imul(bytes[i] ?? 0, P5)) | 0, 11), P1);
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

// One scratch buffer for string hashing: picks hash header values, so no allocation per pick.
let scratch = new Uint8Array(256);
const encoder = new TextEncoder();

/** xxHash32 of the UTF-8 bytes of `s`. */
export function hashString(s: string, seed = 0): number {
  const n = s.length;
  if (scratch.length < n * 3) scratch = new Uint8Array(n * 3);
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      ascii = false;
      break;
    }
    scratch[i] = c;
  }
  const length = ascii ? n : encoder.encodeInto(s, scratch).written;
  return xxhash32(scratch, seed, length);
}

const pair = new Uint8Array(8);

/** xxHash32 of two 32-bit integers (little-endian), for deriving many hashes from one. */
export function hashPair(a: number, b: number, seed = 0): number {
  pair[0] = a;
  pair[1] = a >>> 8;
  pair[2] = a >>> 16;
  pair[3] = a >>> 24;
  pair[4] = b;
  pair[5] = b >>> 8;
  pair[6] = b >>> 16;
  pair[7] = b >>> 24;
  return xxhash32(pair, seed, 8);
}
