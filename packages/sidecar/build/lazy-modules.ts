import { dirname, resolve } from "node:path";
import type { Plugin } from "esbuild";

/**
 * esbuild plugins that keep the `weft-sidecar` bundle's resident memory small.
 *
 * - `coreWithoutSideEffects`: @weft/core's source files have no import-time side effects the
 *   sidecar relies on, so modules it never uses (the x509 stack, converters, the config
 *   loader behind the barrel) are dropped instead of being evaluated at start.
 * - `lazyModules`: a module whose exports are only functions called after start (CEL
 *   conditions of authorization rules) is replaced by forwarders that `require()` it on the
 *   first call; esbuild then wraps the real module in a lazy initialiser, so it and its
 *   dependencies (@bufbuild/cel, re2) are evaluated only by a mesh whose policies use them.
 */
export function coreWithoutSideEffects(coreSrc: string): Plugin {
  return {
    name: "weft-core-side-effect-free",
    setup(build) {
      build.onResolve({ filter: /\.(ts|js)$/ }, (args) => {
        if (!args.path.startsWith(".")) return undefined;
        const path = resolve(args.resolveDir, args.path);
        if (!path.startsWith(coreSrc)) return undefined;
        return { path, sideEffects: false };
      });
    },
  };
}

/** `file` (absolute) exports these functions; callers get forwarders that load it on first use. */
export interface LazyModule {
  readonly file: string;
  readonly functions: readonly string[];
}

export function lazyModules(modules: readonly LazyModule[]): Plugin {
  const byFile = new Map(modules.map((m) => [m.file, m]));
  return {
    name: "weft-lazy-modules",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        // The forwarder's own require of the file reaches the real module.
        if (args.namespace === "weft-lazy") return { path: args.path, sideEffects: false };
        if (!args.path.startsWith(".")) return undefined;
        const path = resolve(args.resolveDir, args.path);
        if (!byFile.has(path)) return undefined;
        return { path: `${path}?lazy`, namespace: "weft-lazy" };
      });
      build.onLoad({ filter: /.*/, namespace: "weft-lazy" }, (args) => {
        const file = args.path.slice(0, -"?lazy".length);
        const m = byFile.get(file) as LazyModule;
        const lines = [
          "let real;",
          `const load = () => (real ??= require(${JSON.stringify(file)}));`,
          ...m.functions.map((f) => `export function ${f}(...args) { return load().${f}(...args); }`),
        ];
        return { contents: lines.join("\n"), loader: "js", resolveDir: dirname(file) };
      });
    },
  };
}
