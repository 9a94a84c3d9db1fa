import { parseArgs } from "node:util";

export interface DemoOptions {
  /** Seconds of traffic; undefined runs until Ctrl-C. */
  readonly durationS: number | undefined;
  /** Calls per second from the traffic generator. */
  readonly rps: number;
  /** `--print-config [files...]`: only load, check and describe the configuration. */
  readonly printConfig: readonly string[] | undefined;
}

export const USAGE = `usage: npm start -- [--duration <seconds>] [--rps <calls per second>]
       npm start -- --print-config [file...]    (examples/mesh.yaml by default)`;

/** Throws an Error whose message is the mistake, for `--duration abc` and the like. */
export function parseDemoOptions(argv: string[]): DemoOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" },
      rps: { type: "string", default: "50" },
      "print-config": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) throw new Error(USAGE);
  if (values["print-config"]) return { durationS: undefined, rps: 0, printConfig: positionals };
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"\n${USAGE}`);
  const number = (flag: string, text: string, min: number, max: number) => {
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || n < min || n > max)
      throw new Error(`--${flag}: "${text}" is not a number from ${min} to ${max}`);
    return n;
  };
  return {
    durationS: values.duration === undefined ? undefined : number("duration", values.duration, 5, 86_400),
    rps: number("rps", values.rps, 1, 5_000),
    printConfig: undefined,
  };
}
