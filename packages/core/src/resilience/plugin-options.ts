import { type DescMessage, fromJson, type JsonValue, type MessageShape } from "@bufbuild/protobuf";

/**
 * Reads a plugin's JSON options as the policy message they spell (the protobuf JSON
 * mapping, as in YAML config), failing with an error that names the plugin.
 */
export function policyFromJson<Desc extends DescMessage>(
  plugin: string,
  schema: Desc,
  raw: Record<string, unknown>,
): MessageShape<Desc> {
  try {
    return fromJson(schema, raw as JsonValue);
  } catch (err) {
    throw new Error(`plugin "${plugin}": invalid options: ${(err as Error).message}`, { cause: err });
  }
}
