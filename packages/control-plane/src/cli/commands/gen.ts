import { CliError } from "../cli-error.ts";
import type { CliContext } from "./context.ts";

export const genUsage = `weft gen <proto dir> --out <dir>
  Generates typed mesh clients and server helpers from .proto files (protoc-gen-es and
  protoc-gen-weft through buf, offline). Provided by @weft/codegen.`;

/**
 * `weft gen`: the code generator lives in @weft/codegen, which brings buf and ts-morph; it is
 * loaded only for this command, so the control plane does not carry it.
 */
export async function gen(args: string[], ctx: CliContext): Promise<number> {
  let codegen: {
    runGen(args: readonly string[], io: { out(t: string): void; err(t: string): void }): Promise<number>;
  };
  try {
    // A computed name: @weft/codegen builds on @weft/inprocess, which tests against the
    // control plane, so a static import would make the package graph circular.
    const name = "@weft/codegen";
    codegen = (await import(name)) as typeof codegen;
  } catch {
    throw new CliError("weft gen needs @weft/codegen: npm install @weft/codegen");
  }
  return codegen.runGen(args, { out: ctx.out, err: ctx.err });
}
