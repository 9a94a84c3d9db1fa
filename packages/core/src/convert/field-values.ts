import {
  create,
  type DescField,
  type DescMessage,
  fromJson,
  type JsonValue,
  ScalarType,
} from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";

/** Well-known types that a single string can set, through their JSON form. */
const STRING_WKT = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
]);

/** Can a path variable or query parameter set this field from text? */
export function settableFromText(field: DescField): boolean {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
      return true;
    case "list":
      return field.listKind !== "message" || leafMessage(field.message);
    case "message":
      return leafMessage(field.message);
    default:
      return false;
  }
}

function leafMessage(message: DescMessage): boolean {
  return STRING_WKT.has(message.typeName) || isWrapperDesc(message);
}

/** Finds a field by its proto name or its JSON name. */
export function findField(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name) ?? message.fields.find((f) => f.jsonName === name);
}

/**
 * Resolves `a.b.c` in a message: every step but the last must be a singular message field
 * (not a well-known type). Returns the fields, or a reason naming the step that failed.
 */
export function resolveFieldPath(message: DescMessage, path: readonly string[]): DescField[] | string {
  const fields: DescField[] = [];
  let at = message;
  for (let i = 0; i < path.length; i++) {
    const name = path[i] as string;
    const field = findField(at, name);
    if (!field) return `${at.typeName} has no field "${name}"`;
    fields.push(field);
    if (i < path.length - 1) {
      if (field.fieldKind !== "message" || leafMessage(field.message)) {
        return `"${path.slice(0, i + 1).join(".")}" is not a message field, so it has no field "${path[i + 1]}"`;
      }
      at = field.message;
    }
  }
  return fields;
}

/** The message holding the last field of a path, creating the messages on the way. */
export function parentOf(root: ReflectMessage, fields: readonly DescField[]): ReflectMessage {
  let at = root;
  for (let i = 0; i < fields.length - 1; i++) {
    const field = fields[i] as DescField & { fieldKind: "message" };
    if (!at.isSet(field)) at.set(field, reflect(field.message, create(field.message)));
    at = at.get(field);
  }
  return at;
}

/**
 * Parses text into the value of a field (one element for a repeated field) in the form the
 * reflection API takes. Returns a string describing what was expected when it does not parse.
 */
export function parseFieldValue(field: DescField, text: string): { value: unknown } | { expected: string } {
  switch (field.fieldKind) {
    case "scalar":
      return parseScalar(field.scalar, text);
    case "enum":
      return parseEnum(field.enum, text);
    case "message":
      return parseLeafMessage(field.message, text);
    case "list":
      if (field.listKind === "scalar") return parseScalar(field.scalar, text);
      if (field.listKind === "enum") return parseEnum(field.enum, text);
      return parseLeafMessage(field.message, text);
    default:
      return { expected: "a field that is not a map" };
  }
}

function parseEnum(
  desc: DescField["enum"] & object,
  text: string,
): { value: unknown } | { expected: string } {
  const byName = desc.values.find((v) => v.name === text);
  if (byName) return { value: byName.number };
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    if (n >= -2147483648 && n <= 2147483647) return { value: n };
  }
  const names = desc.values.map((v) => v.name);
  return { expected: `one of ${names.join(", ")} (enum ${desc.typeName})` };
}

function parseLeafMessage(desc: DescMessage, text: string): { value: unknown } | { expected: string } {
  if (isWrapperDesc(desc)) {
    const inner = desc.fields[0];
    if (inner?.fieldKind !== "scalar") return { expected: `a value of ${desc.typeName}` };
    const parsed = parseScalar(inner.scalar, text);
    if ("expected" in parsed) return parsed;
    const r = reflect(desc, create(desc));
    r.set(inner, parsed.value);
    return { value: r };
  }
  if (STRING_WKT.has(desc.typeName)) {
    try {
      return { value: reflect(desc, fromJson(desc, text as JsonValue)) };
    } catch {
      return { expected: `${desc.typeName} in its JSON form` };
    }
  }
  return { expected: `fields of ${desc.typeName}, not the message itself` };
}

const INT = /^[-+]?\d+$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function parseScalar(type: ScalarType, text: string): { value: unknown } | { expected: string } {
  switch (type) {
    case ScalarType.STRING:
      return { value: text };
    case ScalarType.BOOL:
      if (text === "true" || text === "1") return { value: true };
      if (text === "false" || text === "0") return { value: false };
      return { expected: "true or false" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return intInRange(text, -2147483648n, 2147483647n, "a 32-bit integer", false);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return intInRange(text, 0n, 4294967295n, "an unsigned 32-bit integer", false);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return intInRange(text, -(2n ** 63n), 2n ** 63n - 1n, "a 64-bit integer", true);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return intInRange(text, 0n, 2n ** 64n - 1n, "an unsigned 64-bit integer", true);
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE: {
      const n =
        text === "NaN"
          ? Number.NaN
          : text === "Infinity"
            ? Infinity
            : text === "-Infinity"
              ? -Infinity
              : undefined;
      if (n !== undefined) return { value: n };
      if (!FLOAT.test(text)) return { expected: "a number" };
      const value = Number(text);
      if (type === ScalarType.FLOAT && Math.abs(value) > 3.4028234663852886e38) {
        return { expected: "a number within the range of a 32-bit float" };
      }
      return { value };
    }
    case ScalarType.BYTES:
      if (!BASE64.test(text)) return { expected: "base64 (standard or URL-safe)" };
      try {
        return { value: base64Decode(text) };
      } catch {
        return { expected: "base64 (standard or URL-safe)" };
      }
  }
}

function intInRange(
  text: string,
  min: bigint,
  max: bigint,
  expected: string,
  wide: boolean,
): { value: unknown } | { expected: string } {
  if (!INT.test(text)) return { expected };
  const n = BigInt(text);
  if (n < min || n > max) return { expected: `${expected} (out of range)` };
  return { value: wide ? n : Number(n) };
}
