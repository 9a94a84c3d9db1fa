import { create, fromJson, type JsonObject, type Message } from "@bufbuild/protobuf";
import type { Path } from "@bufbuild/protobuf/reflect";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { isMap, isScalar, LineCounter, type Node, parseAllDocuments } from "yaml";
import { type MeshConfig, MeshConfigSchema } from "../gen/weft/v1/config_pb.js";
import { API_VERSION, DEFAULT_NAMESPACE, type DocumentKind, documentKinds } from "./documents.ts";
import { ConfigError, type ConfigProblem } from "./errors.ts";
import { walkMessage } from "./schema-walk.ts";
import { didYouMean } from "./suggest.ts";

/** One configuration file's text and the name to report it by. */
export interface ConfigSource {
  file: string;
  text: string;
}

let validator: Validator | undefined;

/**
 * Parses YAML (one or many documents) or JSON configuration into one typed MeshConfig,
 * checked against the model's protovalidate rules. Throws ConfigError listing every
 * problem with file:line:column, field path and what was expected; never a partial result.
 */
export function parseMeshConfig(sources: ConfigSource | readonly ConfigSource[]): MeshConfig {
  const list = Array.isArray(sources) ? sources : [sources as ConfigSource];
  const config = create(MeshConfigSchema);
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, string>();
  for (const source of list) parseSource(source, config, problems, seen);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function parseSource(
  source: ConfigSource,
  config: MeshConfig,
  problems: ConfigProblem[],
  seen: Map<string, string>,
) {
  const lines = new LineCounter();
  const docs = parseAllDocuments(source.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (node: Node | null | undefined) => {
    const offset = node?.range?.[0] ?? 0;
    const pos = lines.linePos(offset);
    return { file: source.file, line: pos.line, column: pos.col };
  };
  const docList = Array.isArray(docs) ? docs : [docs];
  for (const doc of docList) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
        problems.push({
          file: source.file,
          line: pos.line,
          column: pos.col,
          path: "",
          message: e.message.split("\n")[0] ?? e.message,
        });
      }
      continue;
    }
    const root = doc.contents as Node | null;
    if (root === null || (isScalar(root) && root.value === null)) continue;
    if (!isMap(root)) {
      problems.push({
        ...at(root),
        path: "",
        message: "expected a document with apiVersion, kind, metadata and spec",
      });
      continue;
    }
    parseDocument(root, config, problems, seen, at);
  }
}

type Locate = (node: Node | null | undefined) => { file: string; line: number; column: number };

function parseDocument(
  root: Node & { items: { key: unknown; value: unknown }[] },
  config: MeshConfig,
  problems: ConfigProblem[],
  seen: Map<string, string>,
  at: Locate,
) {
  const fields = new Map<string, { key: Node; value: Node | null }>();
  for (const pair of root.items) {
    const key = pair.key as Node;
    const name = isScalar(key) ? String(key.value) : "";
    if (!["apiVersion", "kind", "metadata", "spec"].includes(name)) {
      problems.push({
        ...at(key),
        path: name,
        message: `unknown field "${name}"${didYouMean(name, ["apiVersion", "kind", "metadata", "spec"])}`,
      });
      continue;
    }
    fields.set(name, { key, value: (pair.value ?? null) as Node | null });
  }
  const text = (name: string) => {
    const v = fields.get(name)?.value;
    return isScalar(v) && typeof v.value === "string" ? v.value : undefined;
  };
  const apiVersion = text("apiVersion");
  if (apiVersion !== API_VERSION) {
    const node = fields.get("apiVersion")?.value ?? root;
    problems.push({
      ...at(node),
      path: "apiVersion",
      message: `expected "${API_VERSION}", got ${apiVersion === undefined ? "nothing" : `"${apiVersion}"`}`,
    });
    return;
  }
  const kindName = text("kind");
  const kind = kindName === undefined ? undefined : documentKinds[kindName];
  if (kindName === undefined || kind === undefined) {
    const names = Object.keys(documentKinds);
    problems.push({
      ...at(fields.get("kind")?.value ?? root),
      path: "kind",
      message: `expected one of ${names.join(", ")}, got ${kindName === undefined ? "nothing" : `"${kindName}"`}${kindName ? didYouMean(kindName, names) : ""}`,
    });
    return;
  }
  const meta = readMetadata(fields.get("metadata")?.value ?? null, kind, kindName, problems, at);
  const spec = fields.get("spec")?.value ?? null;
  const walked = walkMessage(spec, kind.schema, "spec");
  for (const p of walked.problems)
    problems.push({ ...at(p.node ?? spec ?? root), path: p.path, message: p.message });
  if (walked.problems.length > 0 || meta === undefined) return;

  let message: Message;
  try {
    message = fromJson(kind.schema, (walked.json ?? {}) as JsonObject);
  } catch (e) {
    problems.push({ ...at(spec ?? root), path: "spec", message: (e as Error).message });
    return;
  }
  const record = message as unknown as Record<string, unknown>;
  if (kind.nameField) record[kind.nameField] = meta.name;
  if (kind.namespaced) record.namespace = meta.namespace;

  const place = (path: string): Node | null => {
    if (path === "spec.name" || (kind.nameField && path === `spec.${kind.nameField}`)) return meta.nameNode;
    if (path === "spec.namespace") return meta.namespaceNode ?? meta.nameNode;
    for (let p = path; p.length > 0; p = p.replace(/(\.[^.[\]]+|\[[^\]]*\])$/, "")) {
      const node = walked.nodes.get(p);
      if (node) return node;
      if (!/(\.[^.[\]]+|\[[^\]]*\])$/.test(p)) break;
    }
    return spec ?? root;
  };
  validator ??= createValidator();
  const result = validator.validate(kind.schema, message);
  if (result.kind === "error") {
    problems.push({
      ...at(spec ?? root),
      path: "spec",
      message: `cannot check rules: ${result.error.message}`,
    });
    return;
  }
  if (result.kind === "invalid") {
    for (const v of result.violations) {
      const path = `spec${pathText(v.field)}`;
      problems.push({
        ...at(place(path)),
        path: path === "spec.name" ? "metadata.name" : path,
        message: v.message || v.ruleId,
      });
    }
    return;
  }
  const id = `${kindName}/${meta.namespace}/${meta.name}`;
  const firstAt = seen.get(id);
  if (firstAt !== undefined && kindName !== "MeshConfig") {
    const where = at(meta.nameNode ?? root);
    problems.push({
      ...where,
      path: "metadata.name",
      message: `${kindName} "${meta.name}" is defined twice (first at ${firstAt})`,
    });
    return;
  }
  const where = at(meta.nameNode ?? root);
  seen.set(id, `${where.file}:${where.line}:${where.column}`);
  add(config, kindName, message, problems, where);
}

function pathText(path: Path): string {
  let out = "";
  for (const item of path) {
    switch (item.kind) {
      case "field":
        out += `.${item.jsonName}`;
        break;
      case "list_sub":
        out += `[${item.index}]`;
        break;
      case "map_sub":
        out += `["${String(item.key)}"]`;
        break;
      default:
        break;
    }
  }
  return out;
}

interface Metadata {
  name: string;
  namespace: string;
  nameNode: Node | null;
  namespaceNode: Node | null;
}

function readMetadata(
  node: Node | null,
  kind: DocumentKind,
  kindName: string,
  problems: ConfigProblem[],
  at: Locate,
): Metadata | undefined {
  const meta: Metadata = { name: "", namespace: DEFAULT_NAMESPACE, nameNode: null, namespaceNode: null };
  if (node === null) {
    if (kind.nameField) {
      problems.push({ ...at(node), path: "metadata", message: `a ${kindName} needs metadata.name` });
      return undefined;
    }
    return meta;
  }
  if (!isMap(node)) {
    problems.push({ ...at(node), path: "metadata", message: "expected a map with name, namespace, labels" });
    return undefined;
  }
  let ok = true;
  for (const pair of node.items) {
    const key = pair.key as Node;
    const name = isScalar(key) ? String(key.value) : "";
    const value = (pair.value ?? null) as Node | null;
    if (name === "name" || name === "namespace") {
      if (!isScalar(value) || typeof value.value !== "string") {
        problems.push({ ...at(value ?? key), path: `metadata.${name}`, message: "expected a string" });
        ok = false;
        continue;
      }
      if (name === "name") {
        meta.name = value.value;
        meta.nameNode = value;
      } else {
        meta.namespace = value.value;
        meta.namespaceNode = value;
      }
    } else if (name !== "labels" && name !== "annotations") {
      problems.push({
        ...at(key),
        path: `metadata.${name}`,
        message: `unknown field "${name}"${didYouMean(name, ["name", "namespace", "labels", "annotations"])}`,
      });
      ok = false;
    }
  }
  if (kind.nameField && meta.name === "") {
    problems.push({ ...at(node), path: "metadata.name", message: `a ${kindName} needs a name` });
    ok = false;
  }
  return ok ? meta : undefined;
}

function add(
  config: MeshConfig,
  kindName: string,
  message: Message,
  problems: ConfigProblem[],
  where: { file: string; line: number; column: number },
) {
  const m = message as never;
  switch (kindName) {
    case "Mesh":
      if (config.mesh) {
        problems.push({ ...where, path: "kind", message: "only one Mesh document is allowed" });
        return;
      }
      config.mesh = m;
      return;
    case "Service":
      config.services.push(m);
      return;
    case "Route":
      config.routes.push(m);
      return;
    case "AuthorizationPolicy":
      config.authorizationPolicies.push(m);
      return;
    case "Endpoints":
      config.endpoints.push(m);
      return;
    case "MeshConfig": {
      const whole = message as MeshConfig;
      if (whole.mesh) config.mesh = whole.mesh;
      config.services.push(...whole.services);
      config.routes.push(...whole.routes);
      config.authorizationPolicies.push(...whole.authorizationPolicies);
      config.endpoints.push(...whole.endpoints);
      return;
    }
  }
}
