import type { DescEnum, DescField, DescMessage, JsonValue } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { isMap, isScalar, isSeq, type Node } from "yaml";
import { didYouMean } from "./suggest.ts";

/** A problem found while walking, placed at a YAML node. */
export interface WalkProblem {
  node: Node | null;
  path: string;
  message: string;
}

/** The outcome of checking one YAML node against a message schema. */
export interface WalkResult {
  json: JsonValue;
  problems: WalkProblem[];
  /** Every visited node by its field path, to place later (protovalidate) problems. */
  nodes: Map<string, Node>;
}

/**
 * Checks a YAML node against a protobuf message schema and turns it into the protobuf
 * JSON form that `fromJson` takes. It is stricter and more helpful than `fromJson` alone:
 * it names the field path and position of each problem, suggests the field meant by a
 * typo, and accepts what people write by hand: enum values without their prefix
 * (`SIDECAR` for `MODE_SIDECAR`) and durations like `500ms` or `2m`.
 */
export function walkMessage(node: Node | null, schema: DescMessage, path: string): WalkResult {
  const result: WalkResult = { json: null, problems: [], nodes: new Map() };
  result.json = message(node, schema, path, result);
  return result;
}

function describe(node: Node | null): string {
  if (node === null) return "nothing";
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return "null";
    return `${typeof v} ${JSON.stringify(v)}`;
  }
  return "an unsupported YAML node";
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function message(node: Node | null, schema: DescMessage, path: string, r: WalkResult): JsonValue {
  if (node !== null) r.nodes.set(path, node);
  const wkt = wellKnown(node, schema, path, r);
  if (wkt !== undefined) return wkt;
  if (node === null || (isScalar(node) && node.value === null)) return null;
  if (!isMap(node)) {
    r.problems.push({ node, path, message: `expected a map (${schema.name}), got ${describe(node)}` });
    return null;
  }
  const out: Record<string, JsonValue> = {};
  const byName = new Map<string, DescField>();
  for (const f of schema.fields) {
    byName.set(f.jsonName, f);
    byName.set(f.name, f);
  }
  const oneofSeen = new Map<string, string>();
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    const key = isScalar(keyNode) ? String(keyNode.value) : "";
    const valueNode = (pair.value ?? null) as Node | null;
    const field = byName.get(key);
    if (!field) {
      const names = schema.fields.map((f) => f.jsonName);
      r.problems.push({
        node: keyNode,
        path: join(path, key),
        message: `unknown field "${key}" in ${schema.name}${didYouMean(key, names)}${
          names.length > 0 && !didYouMean(key, names) ? ` (fields: ${names.join(", ")})` : ""
        }`,
      });
      continue;
    }
    const fieldPath = join(path, field.jsonName);
    if (field.oneof && valueNode !== null && !(isScalar(valueNode) && valueNode.value === null)) {
      const other = oneofSeen.get(field.oneof.name);
      if (other !== undefined) {
        r.problems.push({
          node: keyNode,
          path: fieldPath,
          message: `only one of ${field.oneof.fields.map((f) => f.jsonName).join(", ")} may be set; "${other}" is set too`,
        });
        continue;
      }
      oneofSeen.set(field.oneof.name, field.jsonName);
    }
    out[field.jsonName] = fieldValue(valueNode, field, fieldPath, r);
  }
  return out;
}

function fieldValue(node: Node | null, field: DescField, path: string, r: WalkResult): JsonValue {
  if (node !== null) r.nodes.set(path, node);
  if (node === null || (isScalar(node) && node.value === null)) return null;
  switch (field.fieldKind) {
    case "scalar":
      return scalar(node, field.scalar, path, r);
    case "enum":
      return enumValue(node, field.enum, path, r);
    case "message":
      return message(node, field.message, path, r);
    case "list": {
      if (!isSeq(node)) {
        r.problems.push({ node, path, message: `expected a list, got ${describe(node)}` });
        return null;
      }
      return node.items.map((item, i) => {
        const itemNode = item as Node | null;
        const itemPath = `${path}[${i}]`;
        if (itemNode !== null) r.nodes.set(itemPath, itemNode);
        if (field.listKind === "scalar") return scalar(itemNode, field.scalar, itemPath, r);
        if (field.listKind === "enum") return enumValue(itemNode, field.enum, itemPath, r);
        return message(itemNode, field.message, itemPath, r);
      });
    }
    case "map": {
      if (!isMap(node)) {
        r.problems.push({ node, path, message: `expected a map, got ${describe(node)}` });
        return null;
      }
      const out: Record<string, JsonValue> = {};
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : "";
        const valueNode = (pair.value ?? null) as Node | null;
        const entryPath = `${path}["${key}"]`;
        if (valueNode !== null) r.nodes.set(entryPath, valueNode);
        if (field.mapKind === "scalar") out[key] = scalar(valueNode, field.scalar, entryPath, r);
        else if (field.mapKind === "enum") out[key] = enumValue(valueNode, field.enum, entryPath, r);
        else out[key] = message(valueNode, field.message, entryPath, r);
      }
      return out;
    }
  }
}

function scalar(node: Node | null, type: ScalarType, path: string, r: WalkResult): JsonValue {
  if (node === null) return null;
  if (!isScalar(node)) {
    r.problems.push({ node, path, message: `expected ${scalarName(type)}, got ${describe(node)}` });
    return null;
  }
  const v = node.value;
  switch (type) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      if (typeof v === "string") return v;
      r.problems.push({ node, path, message: `expected a string, got ${describe(node)} (quote it)` });
      return null;
    case ScalarType.BOOL:
      if (typeof v === "boolean") return v;
      r.problems.push({ node, path, message: `expected true or false, got ${describe(node)}` });
      return null;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      if (typeof v === "number") return v;
      r.problems.push({ node, path, message: `expected a number, got ${describe(node)}` });
      return null;
    default: {
      const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
      const unsigned = [
        ScalarType.UINT32,
        ScalarType.UINT64,
        ScalarType.FIXED32,
        ScalarType.FIXED64,
      ].includes(type);
      if (typeof n !== "number" || !Number.isInteger(n)) {
        r.problems.push({ node, path, message: `expected ${scalarName(type)}, got ${describe(node)}` });
        return null;
      }
      if (unsigned && n < 0) {
        r.problems.push({ node, path, message: `expected ${scalarName(type)}, got negative ${n}` });
        return null;
      }
      const is32 = [
        ScalarType.INT32,
        ScalarType.UINT32,
        ScalarType.SINT32,
        ScalarType.FIXED32,
        ScalarType.SFIXED32,
      ].includes(type);
      if (is32 && (n > 4294967295 || n < -2147483648)) {
        r.problems.push({ node, path, message: `${n} does not fit in ${scalarName(type)}` });
        return null;
      }
      return typeof v === "string" ? v : n;
    }
  }
}

function scalarName(type: ScalarType): string {
  switch (type) {
    case ScalarType.STRING:
      return "a string";
    case ScalarType.BYTES:
      return "base64 bytes";
    case ScalarType.BOOL:
      return "true or false";
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return "a number";
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return "a whole number from 0 to 4294967295";
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return "a whole number from 0";
    default:
      return "a whole number";
  }
}

/** `MODE_UNSPECIFIED` -> `MODE_`: the prefix buf lint makes every value carry. */
function enumPrefix(e: DescEnum): string {
  const first = e.values[0]?.name ?? "";
  return first.endsWith("_UNSPECIFIED") ? first.slice(0, -"UNSPECIFIED".length) : "";
}

function enumValue(node: Node | null, e: DescEnum, path: string, r: WalkResult): JsonValue {
  if (node === null) return null;
  const prefix = enumPrefix(e);
  const shortNames = e.values
    .filter((v) => !v.name.endsWith("_UNSPECIFIED"))
    .map((v) => v.name.slice(prefix.length));
  if (isScalar(node) && typeof node.value === "string") {
    const text = node.value.trim();
    const upper = text.toUpperCase().replaceAll("-", "_");
    const found = e.values.find((v) => v.name === text || v.name === `${prefix}${upper}` || v.name === upper);
    if (found) return found.name;
    r.problems.push({
      node,
      path,
      message: `"${text}" is not one of ${shortNames.join(", ")}${didYouMean(upper, shortNames)}`,
    });
    return null;
  }
  r.problems.push({ node, path, message: `expected one of ${shortNames.join(", ")}, got ${describe(node)}` });
  return null;
}

const durationUnits: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** `1h2m3.5s`, `500ms`, `0.25s` -> seconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  const t = text.trim();
  if (t === "0") return 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m || m[1] === undefined || m[2] === undefined) return undefined;
    total += Number(m[1]) * (durationUnits[m[2]] ?? 0);
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

/** Well-known types have their own JSON forms; returns undefined for other messages. */
function wellKnown(
  node: Node | null,
  schema: DescMessage,
  path: string,
  r: WalkResult,
): JsonValue | undefined {
  switch (schema.typeName) {
    case "google.protobuf.Duration": {
      if (node === null) return null;
      const v = isScalar(node) ? node.value : undefined;
      const seconds = typeof v === "string" ? parseDuration(v) : typeof v === "number" ? v : undefined;
      if (seconds === undefined || seconds < 0 || !Number.isFinite(seconds)) {
        r.problems.push({
          node,
          path,
          message: `expected a duration like "250ms", "2s" or "1m30s", got ${describe(node)}`,
        });
        return null;
      }
      return `${Number(seconds.toFixed(9))}s`;
    }
    case "google.protobuf.Struct":
    case "google.protobuf.Value":
    case "google.protobuf.ListValue":
      return node === null ? null : (node.toJSON() as JsonValue);
    case "google.protobuf.Timestamp": {
      if (node === null) return null;
      if (isScalar(node) && typeof node.value === "string" && !Number.isNaN(Date.parse(node.value)))
        return node.value;
      r.problems.push({
        node,
        path,
        message: `expected an RFC 3339 time like "2026-01-02T15:04:05Z", got ${describe(node)}`,
      });
      return null;
    }
    default:
      return undefined;
  }
}
