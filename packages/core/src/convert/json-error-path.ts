import { type DescMessage, fromJson, type JsonReadOptions, type JsonValue } from "@bufbuild/protobuf";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { findField } from "./field-values.ts";

/**
 * The path (`book.genre`, `items[2]`) of the first JSON value that does not decode into
 * `schema`, or undefined when it cannot be narrowed down. protobuf-es names the field of most
 * decoding errors but not of all (an unknown enum name only names the enum), and a person
 * fixing a request needs the field. Runs only after a decode has failed.
 */
export function jsonErrorPath(
  schema: DescMessage,
  json: JsonValue,
  options: Partial<JsonReadOptions>,
): string | undefined {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return undefined;
  if (schema.typeName.startsWith("google.protobuf.") || isWrapperDesc(schema)) return undefined;
  for (const [key, value] of Object.entries(json)) {
    const field = findField(schema, key);
    if (!field) return key;
    if (decodes(schema, { [key]: value }, options)) continue;
    if (field.fieldKind === "message") {
      const inner = jsonErrorPath(field.message, value, options);
      return inner ? `${field.name}.${inner}` : field.name;
    }
    if (field.fieldKind === "list" && Array.isArray(value)) {
      const index = value.findIndex((item) => !decodes(schema, { [key]: [item] }, options));
      if (index >= 0 && field.listKind === "message") {
        const inner = jsonErrorPath(field.message, value[index] as JsonValue, options);
        return `${field.name}[${index}]${inner ? `.${inner}` : ""}`;
      }
      return index >= 0 ? `${field.name}[${index}]` : field.name;
    }
    return field.name;
  }
  return undefined;
}

function decodes(schema: DescMessage, json: JsonValue, options: Partial<JsonReadOptions>): boolean {
  try {
    fromJson(schema, json, options);
    return true;
  } catch {
    return false;
  }
}
