import {
  create,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromJson,
  type JsonValue,
  type JsonWriteOptions,
  type Message,
  type Registry,
  toJson,
} from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { Code } from "@connectrpc/connect";
import { httpStatusFromCode } from "../errors/codes.ts";
import { errorToJsonBytes } from "./connect-error-json.ts";
import { parentOf, parseFieldValue, resolveFieldPath, settableFromText } from "./field-values.ts";
import { type HttpRule, readHttpRule } from "./http-rule.ts";
import { jsonErrorPath } from "./json-error-path.ts";
import { PathMatcher } from "./path-matcher.ts";
import { type PathTemplate, parsePathTemplate } from "./path-template.ts";
import { ConvertError, type ErrorDetail } from "./wire-error.ts";

/** One `google.api.http` binding (the rule or one of its additional_bindings), resolved. */
export interface HttpBinding {
  readonly method: DescMethod;
  readonly httpMethod: string;
  readonly template: PathTemplate;
  /** The request fields each path variable sets, in the order of `template.variables`. */
  readonly pathFields: readonly (readonly DescField[])[];
  /** `*` for the whole request, a top-level request field, or undefined for no body. */
  readonly body: "*" | DescField | undefined;
  /** The response field sent as the body, or undefined for the whole response. */
  readonly responseBody: DescField | undefined;
}

/** A request matched to an RPC. */
export interface TranscodeMatch {
  readonly method: DescMethod;
  /** `/package.Service/Method`, the RPC's path on the gRPC and Connect wire. */
  readonly rpcPath: string;
  readonly binding: HttpBinding;
  /** Path variables by field path (`order.order_id`), percent-decoded. */
  readonly vars: ReadonlyMap<string, string>;
  /** Set when a variable's percent-encoding is malformed; decodeRequest answers 400 with it. */
  readonly invalid: string | undefined;
}

/** An HTTP response produced by the transcoder. */
export interface TranscodedResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array;
}

export interface TranscoderOptions {
  /** For `google.protobuf.Any` in bodies and responses. */
  readonly registry?: Registry;
  /** JSON output: camelCase names by default, as the protobuf JSON mapping prescribes. */
  readonly json?: Partial<Omit<JsonWriteOptions, "registry">>;
}

export interface Transcoder {
  readonly bindings: readonly HttpBinding[];
  match(httpMethod: string, path: string): TranscodeMatch | undefined;
  /**
   * Throws ConvertError when no request to this binding can be served whatever its body: 501
   * for a streaming method, 415 for a compressed body. Callers check before reading the body.
   */
  refuseUnservable(match: TranscodeMatch, contentEncoding: string | null | undefined): void;
  /**
   * Builds the RPC request; throws ConvertError naming what is at fault: 400 a parameter or
   * field, 415 a body not JSON, and what refuseUnservable throws.
   */
  decodeRequest(
    match: TranscodeMatch,
    query: string | URLSearchParams,
    body: Uint8Array | undefined,
    contentType: string | null | undefined,
    contentEncoding?: string | null,
  ): Message;
  encodeResponse(match: TranscodeMatch, message: Message): TranscodedResponse;
  encodeError(code: Code, message: string, details?: readonly ErrorDetail[]): TranscodedResponse;
}

const JSON_CONTENT_TYPE = "application/json";

/**
 * Builds the REST/JSON transcoder for the `google.api.http` annotations of some services.
 * Annotations are checked here, once: a template that does not parse, a variable naming no
 * field or a repeated one, two methods bound to the same route all throw, naming the method.
 */
export function createTranscoder(
  services: readonly DescService[],
  options: TranscoderOptions = {},
): Transcoder {
  const matcher = new PathMatcher<HttpBinding>();
  const bindings: HttpBinding[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      const rule = readHttpRule(method);
      if (!rule) continue;
      for (const r of [rule, ...rule.additionalBindings]) {
        const binding = resolveBinding(method, r);
        matcher.add(
          binding.httpMethod,
          binding.template,
          binding,
          (b) => `${b.method.parent.typeName}.${b.method.name}`,
        );
        bindings.push(binding);
      }
    }
  }
  const readOptions = { registry: options.registry, ignoreUnknownFields: false };
  const writeOptions: Partial<JsonWriteOptions> = { ...options.json, registry: options.registry };
  const queryFields = new Map<DescMessage, Map<string, DescField[] | string>>();

  function queryField(message: DescMessage, name: string): DescField[] | string {
    let cache = queryFields.get(message);
    if (!cache) {
      cache = new Map();
      queryFields.set(message, cache);
    }
    let fields = cache.get(name);
    if (fields === undefined) {
      fields = resolveFieldPath(message, name.split("."));
      // Bounded: only names that resolve are remembered, so junk parameters cannot grow the cache.
      if (typeof fields !== "string") cache.set(name, fields);
    }
    return fields;
  }

  return {
    bindings,
    match(httpMethod, path) {
      const q = path.indexOf("?");
      const found = matcher.match(httpMethod.toUpperCase(), q < 0 ? path : path.slice(0, q));
      if (!found) return undefined;
      const binding = found.value;
      const vars = new Map<string, string>();
      let invalid: string | undefined;
      binding.template.variables.forEach((v, i) => {
        const raw = found.rawVars[i] ?? "";
        const decoded = decodeVariable(raw, v.multiSegment);
        const name = v.fieldPath.join(".");
        if (decoded === undefined)
          invalid ??= `path variable ${name}: malformed percent-encoding in "${raw}"`;
        vars.set(name, decoded ?? raw);
      });
      const m = binding.method;
      return { method: m, rpcPath: `/${m.parent.typeName}/${m.name}`, binding, vars, invalid };
    },

    refuseUnservable,

    decodeRequest(match, query, body, contentType, contentEncoding) {
      refuseUnservable(match, contentEncoding);
      if (match.invalid) throw badRequest(match.invalid);
      const { binding } = match;
      const input = binding.method.input;
      const route = `${binding.httpMethod} ${binding.template.template}`;
      const hasBody = body !== undefined && body.length > 0;
      let message: Message;
      if (binding.body === undefined) {
        if (hasBody) throw badRequest(`${route} takes no request body; send the fields as query parameters`);
        message = create(input);
      } else {
        const json = hasBody ? parseJsonBody(body, contentType) : undefined;
        message = decodeBody(input, binding.body, json, readOptions);
      }
      const root = reflect(input, message);
      binding.template.variables.forEach((v, i) => {
        const fields = binding.pathFields[i] as readonly DescField[];
        setText(
          root,
          fields,
          match.vars.get(v.fieldPath.join(".")) ?? "",
          `path variable ${v.fieldPath.join(".")}`,
        );
      });
      const params = typeof query === "string" ? new URLSearchParams(query) : query;
      const seen = new Set<string>();
      for (const [name, value] of params) {
        const fields = queryField(input, name);
        if (typeof fields === "string") throw badRequest(`unknown query parameter "${name}": ${fields}`);
        if (binding.body === "*") {
          throw badRequest(`unknown query parameter "${name}": ${route} takes every field in the body`);
        }
        const last = fields[fields.length - 1] as DescField;
        checkQueryTarget(binding, name, fields);
        if (!settableFromText(last)) {
          throw badRequest(
            `query parameter "${name}" names ${describe(last)}, which a query parameter cannot set`,
          );
        }
        if (last.fieldKind !== "list") {
          if (seen.has(name))
            throw badRequest(`query parameter "${name}" is given more than once but is not repeated`);
          const oneof = last.oneof;
          if (oneof) {
            const holder = parentOf(root, fields);
            const current = holder.oneofCase(oneof);
            if (current && current !== last) {
              throw badRequest(
                `query parameter "${name}" conflicts with "${current.name}": both set oneof ${oneof.name}`,
              );
            }
          }
          seen.add(name);
        }
        setText(root, fields, value, `query parameter "${name}"`);
      }
      return message;
    },

    encodeResponse(match, message) {
      const { binding } = match;
      const output = binding.method.output;
      let json: JsonValue;
      const field = binding.responseBody;
      if (!field) {
        json = toJson(output, message, writeOptions);
      } else if (field.fieldKind === "message") {
        json = toJson(field.message, reflect(output, message).get(field).message, writeOptions);
      } else {
        const whole = toJson(output, message, { ...writeOptions, alwaysEmitImplicit: true }) as Record<
          string,
          JsonValue
        >;
        json = whole[writeOptions.useProtoFieldName ? field.name : field.jsonName] ?? null;
      }
      return {
        status: 200,
        contentType: JSON_CONTENT_TYPE,
        body: new TextEncoder().encode(JSON.stringify(json)),
      };
    },

    encodeError(code, message, details = []) {
      return {
        status: httpStatusFromCode(code),
        contentType: JSON_CONTENT_TYPE,
        body: errorToJsonBytes({ code, message, details }),
      };
    },
  };
}

function resolveBinding(method: DescMethod, rule: HttpRule): HttpBinding {
  const where = `${method.parent.typeName}.${method.name}`;
  const fail = (why: string): never => {
    throw new Error(`google.api.http of ${where}: ${why}`);
  };
  if (!rule.method || !rule.path) fail("no HTTP method and path pattern set");
  let template: PathTemplate;
  try {
    template = parsePathTemplate(rule.path);
  } catch (err) {
    return fail((err as Error).message);
  }
  const pathFields = template.variables.map((v) => {
    const fields = resolveFieldPath(method.input, v.fieldPath);
    if (typeof fields === "string") return fail(`path variable ${v.fieldPath.join(".")}: ${fields}`);
    const last = fields[fields.length - 1] as DescField;
    if (last.fieldKind === "list" || last.fieldKind === "map" || !settableFromText(last)) {
      fail(
        `path variable ${v.fieldPath.join(".")} names ${describe(last)}; it must name a singular scalar field`,
      );
    }
    return fields;
  });
  let body: HttpBinding["body"];
  if (rule.body === "*") body = "*";
  else if (rule.body) {
    body = method.input.fields.find((f) => f.name === rule.body);
    if (!body) fail(`body "${rule.body}" is not a field of ${method.input.typeName}`);
  }
  let responseBody: DescField | undefined;
  if (rule.responseBody) {
    responseBody = method.output.fields.find((f) => f.name === rule.responseBody);
    if (!responseBody)
      fail(`response_body "${rule.responseBody}" is not a field of ${method.output.typeName}`);
  }
  return { method, httpMethod: rule.method, template, pathFields, body, responseBody };
}

function decodeBody(
  input: DescMessage,
  body: "*" | DescField,
  json: JsonValue | undefined,
  readOptions: { registry: Registry | undefined; ignoreUnknownFields: boolean },
): Message {
  if (json === undefined) return create(input);
  // Decoding `{field: json}` gives a body field the protobuf JSON mapping of its own type,
  // whatever it is (message, repeated, map, well-known type).
  const whole = body === "*" ? json : { [body.jsonName]: json };
  try {
    return fromJson(input, whole, readOptions);
  } catch (err) {
    const path = jsonErrorPath(input, whole, readOptions);
    throw badRequest(`request body${path ? `, field ${path}` : ""}: ${(err as Error).message}`, err);
  }
}

function parseJsonBody(body: Uint8Array, contentType: string | null | undefined): JsonValue {
  if (contentType) {
    const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
    if (mediaType !== JSON_CONTENT_TYPE && !mediaType.endsWith("+json")) {
      throw new ConvertError(
        Code.InvalidArgument,
        415,
        `content-type "${contentType}" is not supported; send the body as ${JSON_CONTENT_TYPE}`,
      );
    }
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch (err) {
    throw badRequest("request body is not valid UTF-8", err);
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`, err);
  }
}

function checkQueryTarget(binding: HttpBinding, name: string, fields: readonly DescField[]): void {
  if (binding.body !== undefined && binding.body !== "*" && fields[0] === binding.body) {
    throw badRequest(
      `query parameter "${name}" sets field ${binding.body.name}, which the request body carries`,
    );
  }
  for (const bound of binding.pathFields) {
    const n = Math.min(bound.length, fields.length);
    let shared = true;
    for (let i = 0; i < n && shared; i++) shared = bound[i] === fields[i];
    if (shared) {
      throw badRequest(
        `query parameter "${name}" sets ${bound.map((f) => f.name).join(".")}, which the path binds`,
      );
    }
  }
}

function setText(root: ReflectMessage, fields: readonly DescField[], text: string, what: string): void {
  const field = fields[fields.length - 1] as DescField;
  const parsed = parseFieldValue(field, text);
  if ("expected" in parsed) {
    throw badRequest(
      `${what}: "${text}" is not ${parsed.expected} (field ${field.parent.typeName}.${field.name})`,
    );
  }
  const holder = parentOf(root, fields);
  if (field.fieldKind === "list") holder.get(field).add(parsed.value);
  else holder.set(field, parsed.value);
}

function describe(field: DescField): string {
  const kind =
    field.fieldKind === "message"
      ? `message field ${field.name} (${field.message.typeName})`
      : field.fieldKind === "map"
        ? `map field ${field.name}`
        : field.fieldKind === "list"
          ? `repeated field ${field.name}`
          : `field ${field.name}`;
  return kind;
}

/**
 * Percent-decodes a path variable. A multi-segment variable keeps `%2F` encoded, as
 * google.api.http specifies, so its `/` separators stay distinguishable.
 */
function decodeVariable(raw: string, multiSegment: boolean): string | undefined {
  if (!raw.includes("%")) return raw;
  try {
    if (!multiSegment) return decodeURIComponent(raw);
    return raw
      .split(/(%2F)/i)
      .map((part, i) => (i % 2 === 1 ? part : decodeURIComponent(part)))
      .join("");
  } catch {
    return undefined;
  }
}

function badRequest(message: string, cause?: unknown): ConvertError {
  return new ConvertError(Code.InvalidArgument, 400, message, { cause });
}

/** What no REST request to this binding can be served with, whatever its content. */
function refuseUnservable(match: TranscodeMatch, contentEncoding: string | null | undefined): void {
  const { method, binding } = match;
  if (method.methodKind !== "unary") {
    throw new ConvertError(
      Code.Unimplemented,
      501,
      `${binding.httpMethod} ${binding.template.template} is bound to ${match.rpcPath}, a ${method.methodKind.replace("_", "-")} method; REST transcoding serves unary methods only`,
    );
  }
  if (contentEncoding && contentEncoding !== "identity") {
    throw new ConvertError(
      Code.InvalidArgument,
      415,
      `content-encoding "${contentEncoding}" is not supported on REST requests; send the body uncompressed`,
    );
  }
}
