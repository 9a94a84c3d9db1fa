/**
 * The few facts of a leaf certificate the X.509-SVID rules look at, read straight from its DER.
 * A TLS stack hands over every peer certificate as DER once per connection; a full X.509 parse
 * there costs milliseconds, this walk microseconds. The certificate has already been parsed and
 * verified by the TLS stack, so only its structure is trusted here, never its signature.
 */
export interface LeafFacts {
  /** Serial number, hex, for messages. */
  readonly serial: string;
  /** basicConstraints cA. */
  readonly ca: boolean;
  readonly keyCertSign: boolean;
  readonly cRLSign: boolean;
  /** URI subject alternative names, in order. */
  readonly uris: readonly string[];
}

const SEQUENCE = 0x30;
const EXTENSIONS = 0xa3;
const OID = 0x06;
const BOOLEAN = 0x01;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;
const INTEGER = 0x02;
const URI_NAME = 0x86;
// The last two bytes of 2.5.29.x after the 0x55 0x1d prefix.
const KEY_USAGE = 0x0f;
const SUBJECT_ALT_NAME = 0x11;
const BASIC_CONSTRAINTS = 0x13;

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

/** Reads the facts, or throws an Error saying where the DER is not a certificate. */
export function leafFacts(der: Uint8Array): LeafFacts {
  const cert = read(der, 0, der.length);
  if (cert.tag !== SEQUENCE) throw new Error("not a DER certificate (no outer SEQUENCE)");
  const tbs = children(der, cert)[0];
  if (tbs?.tag !== SEQUENCE) throw new Error("not a DER certificate (no tbsCertificate)");
  const fields = children(der, tbs);
  const serialField = fields.find((f) => f.tag === INTEGER);
  const facts = {
    serial: serialField ? hex(der, serialField) : "?",
    ca: false,
    keyCertSign: false,
    cRLSign: false,
    uris: [] as string[],
  };
  const wrapper = fields.find((f) => f.tag === EXTENSIONS);
  const list = wrapper ? children(der, wrapper)[0] : undefined;
  if (!list) return facts;
  for (const ext of children(der, list)) {
    const parts = children(der, ext);
    const oid = parts[0];
    const value = parts.find((p) => p.tag === OCTET_STRING);
    if (oid?.tag !== OID || !value || oid.end - oid.start !== 3) continue;
    if (der[oid.start] !== 0x55 || der[oid.start + 1] !== 0x1d) continue;
    const inner = read(der, value.start, value.end);
    switch (der[oid.start + 2]) {
      case BASIC_CONSTRAINTS: {
        const first = children(der, inner)[0];
        facts.ca = first?.tag === BOOLEAN && der[first.start] !== 0;
        break;
      }
      case KEY_USAGE: {
        // BIT STRING: one byte of unused-bit count, then bit 0 (digitalSignature) as the MSB.
        const bits =
          inner.tag === BIT_STRING && inner.end - inner.start > 1 ? (der[inner.start + 1] ?? 0) : 0;
        facts.keyCertSign = (bits & 0x04) !== 0;
        facts.cRLSign = (bits & 0x02) !== 0;
        break;
      }
      case SUBJECT_ALT_NAME:
        for (const name of children(der, inner)) {
          if (name.tag === URI_NAME) facts.uris.push(ascii(der, name));
        }
        break;
    }
  }
  return facts;
}

function read(b: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new Error(`DER element at byte ${at} runs past its parent`);
  const tag = b[at] ?? 0;
  let len = b[at + 1] ?? 0;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error(`DER length at byte ${at + 1} is not definite or too long`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (b[p++] ?? 0);
  }
  if (p + len > limit) throw new Error(`DER element at byte ${at} runs past its parent`);
  return { tag, start: p, end: p + len };
}

function children(b: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = read(b, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

function ascii(b: Uint8Array, t: Tlv): string {
  let s = "";
  for (let i = t.start; i < t.end; i++) s += String.fromCharCode(b[i] ?? 0);
  return s;
}

function hex(b: Uint8Array, t: Tlv): string {
  let s = "";
  for (let i = t.start; i < t.end; i++) s += (b[i] ?? 0).toString(16).padStart(2, "0");
  return s;
}
