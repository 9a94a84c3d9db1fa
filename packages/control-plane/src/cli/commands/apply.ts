import { ConfigError } from "@weft/core";
import { loadMeshConfigFiles } from "@weft/core/node";
import { adminTarget, withAdmin } from "../admin-call.ts";
import { CliError } from "../cli-error.ts";
import { type CliContext, parse, serverOption } from "./context.ts";

export const applyUsage = `usage: weft apply -f FILE|DIR [-f ...] [--dry-run] [--expected-version V] [--server URL]
  -f, --filename      YAML or JSON file, or a directory of them; replaces the whole applied set
  --dry-run           check and show what would change, and the version that was computed against
  --expected-version  apply only if configuration version V is still in force (as a dry run
                      printed it); otherwise fail and change nothing`;

/** `weft apply`: every file is checked locally (file:line:col errors) before anything is sent. */
export async function apply(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(
    "apply",
    args,
    {
      filename: { type: "string", short: "f", multiple: true },
      "dry-run": { type: "boolean" },
      "expected-version": { type: "string" },
      ...serverOption,
    },
    applyUsage,
  );
  const files = [...(values.filename ?? []), ...positionals];
  if (files.length === 0) throw new CliError(`weft apply needs -f FILE\n\n${applyUsage}`);
  let config: Awaited<ReturnType<typeof loadMeshConfigFiles>>;
  try {
    config = await loadMeshConfigFiles(files);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${e.message}\nnothing was applied`);
    throw e;
  }
  const target = await adminTarget(values, ctx.env);
  const dryRun = values["dry-run"] ?? false;
  const expectedVersion = values["expected-version"] ?? "";
  const res = await withAdmin(target, (admin) => admin.apply({ config, dryRun, expectedVersion }));
  if (res.changed.length === 0) {
    ctx.out(`no changes; configuration version ${res.version} stays in force\n`);
    return 0;
  }
  const lines = res.changed.map((c) => `  ${c}\n`).join("");
  ctx.out(
    dryRun
      ? `dry run against configuration version ${res.version}: applying would change (nothing was changed):\n${lines}` +
          `to apply only if version ${res.version} is still in force, add --expected-version ${res.version}\n`
      : `applied configuration version ${res.version}:\n${lines}`,
  );
  return 0;
}
