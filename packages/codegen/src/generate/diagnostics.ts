import { join } from "node:path";

/** A .proto file did not compile, or a plugin rejected it; `diagnostics` are `file:line:col: message`. */
export class ProtoCompileError extends Error {
  override name = "ProtoCompileError";
  readonly diagnostics: readonly string[];

  constructor(diagnostics: readonly string[]) {
    super(diagnostics.join("\n"));
    this.diagnostics = diagnostics;
  }
}

/** The buf module that holds the user's protos. */
export const userModuleName = "proto";

/** What protoc-gen-weft prints for a policy it cannot generate: `protoc-gen-weft: a/b.proto:12:3: ...`. */
const pluginDiagnostic = /^protoc-gen-weft: ([^\s:]+\.proto):(\d+:\d+: .*)$/;
const pluginAftermath = /^(Failure: )?plugin .*: (exit status \d+|context canceled|signal: killed)$/;

interface BufJsonDiagnostic {
  path?: string;
  start_line?: number;
  start_column?: number;
  message?: string;
}

/**
 * buf's output (`--error-format json`: one object per line, other failures as text),
 * with workspace paths (`<module>/a/b.proto`) turned back into the paths the user knows,
 * as `file:line:column: message`.
 */
export function bufDiagnostics(output: string, modules: ReadonlyMap<string, string>): string[] {
  const result: string[] = [];
  const lines = output.split("\n").map((l) => l.trim());
  for (const text of lines) {
    if (text === "") continue;
    const plugin = pluginDiagnostic.exec(text);
    if (plugin) {
      // Plugins see paths relative to the module root of the files they generate: the user's.
      result.push(`${join(modules.get(userModuleName) ?? "", plugin[1] ?? "")}:${plugin[2]}`);
      continue;
    }
    const d = parseJson(text);
    if (d?.path === undefined) {
      result.push(text);
      continue;
    }
    const where = [userPath(d.path, modules), d.start_line, d.start_column].filter((p) => p !== undefined);
    result.push(`${where.join(":")}: ${d.message ?? "error"}`);
  }
  // When one plugin fails, buf says so and cancels the other: both follow from the
  // plugin's own message, so they are left out when there is one.
  const causes = result.filter((d) => !pluginAftermath.test(d));
  return causes.length > 0 ? causes : result;
}

function parseJson(text: string): BufJsonDiagnostic | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    return JSON.parse(text) as BufJsonDiagnostic;
  } catch {
    return undefined;
  }
}

function userPath(path: string, modules: ReadonlyMap<string, string>): string {
  const slash = path.indexOf("/");
  const dir = slash < 0 ? undefined : modules.get(path.slice(0, slash));
  return dir === undefined ? path : join(dir, path.slice(slash + 1));
}
