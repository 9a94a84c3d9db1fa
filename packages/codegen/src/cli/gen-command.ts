import { ProtoCompileError } from "../generate/diagnostics.ts";
import { generate } from "../generate/generate.ts";

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export const genUsage = `Usage: weft gen <proto dir> --out <dir>

Compiles every .proto file under <proto dir> and writes, mirroring its layout:
  <name>_pb.js, <name>_pb.d.ts   messages and service descriptors (protoc-gen-es)
  <name>_weft.ts                 typed mesh clients, server helpers, policy tables (protoc-gen-weft)
weft/v1/options.proto and google/api/annotations.proto are available to import.
`;

/**
 * `weft gen`: the arguments after `gen`. Returns the exit code: 0 done, 1 the protos did
 * not compile (the errors are printed as file:line:column: message), 2 bad usage.
 */
export async function runGen(args: readonly string[], io: CommandIo = processIo): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed === "help") {
    io.out(genUsage);
    return 0;
  }
  if (typeof parsed === "string") {
    io.err(`weft gen: ${parsed}\n\n${genUsage}`);
    return 2;
  }
  try {
    await generate(parsed);
  } catch (e) {
    if (!(e instanceof ProtoCompileError)) throw e;
    io.err(`${e.message}\n`);
    return 1;
  }
  io.out(`weft gen: wrote ${parsed.outDir}\n`);
  return 0;
}

function parseArgs(args: readonly string[]): { protoDir: string; outDir: string } | "help" | string {
  let protoDir: string | undefined;
  let outDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-h" || arg === "--help") return "help";
    if (arg === "--out" || arg === "-o") {
      outDir = args[++i];
      if (outDir === undefined) return `${arg} needs a directory`;
    } else if (arg.startsWith("--out=")) {
      outDir = arg.slice("--out=".length);
    } else if (arg.startsWith("-")) {
      return `unknown option ${arg}`;
    } else if (protoDir === undefined) {
      protoDir = arg;
    } else {
      return `unexpected argument ${arg} (one proto directory only)`;
    }
  }
  if (protoDir === undefined) return "missing <proto dir>";
  if (outDir === undefined || outDir === "") return "missing --out <dir>";
  return { protoDir, outDir };
}
