import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type RevokedIdentity, RevokedIdentitySchema } from "@weft/core/model";
import { adminTarget, withAdmin } from "../admin-call.ts";
import { CliError } from "../cli-error.ts";
import { outputFormat, structured, table } from "../format.ts";
import { type CliContext, parse, serverOption } from "./context.ts";

export const identityUsage = `usage: weft identity revoke SPIFFE_ID [--reason TEXT] [--server URL]
       weft identity list [-o table|json|yaml] [--server URL]
       weft identity restore SPIFFE_ID [--server URL]
  revoke   the CA signs nothing more for SPIFFE_ID (spiffe://<td>/ns/<ns>/sa/<sa>): no renewal,
           no certificate for a bootstrap token; its current certificate stays valid until
           it expires
  list     the revoked identities, when and why
  restore  lifts a revocation`;

/** `weft identity revoke|list|restore`: the CA's list of revoked workload identities. */
export async function identity(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(
    "identity",
    args,
    { reason: { type: "string" }, output: { type: "string", short: "o" }, ...serverOption },
    identityUsage,
  );
  const [what, spiffeId, ...extra] = positionals;
  const target = await adminTarget(values, ctx.env);
  const needsId = what === "revoke" || what === "restore";
  if (needsId && (spiffeId === undefined || extra.length > 0))
    throw new CliError(
      `weft identity ${what} takes one SPIFFE ID, got ${spiffeId === undefined ? "none" : positionals.length - 1}\n\n${identityUsage}`,
    );
  if (values.reason !== undefined && what !== "revoke")
    throw new CliError(`--reason goes with weft identity revoke only\n\n${identityUsage}`);
  switch (what) {
    case "revoke": {
      const res = await withAdmin(target, (admin) =>
        admin.revokeIdentity({ spiffeId: spiffeId ?? "", reason: values.reason ?? "" }),
      );
      ctx.out(`revoked ${res.revoked?.spiffeId ?? spiffeId}\n`);
      ctx.err(
        "it gets no new certificate from now on; the one it holds stays valid until it expires (at most the leaf lifetime, 24h by default)\n",
      );
      return 0;
    }
    case "restore": {
      const res = await withAdmin(target, (admin) => admin.restoreIdentity({ spiffeId: spiffeId ?? "" }));
      ctx.out(`restored ${res.restored?.spiffeId ?? spiffeId}\n`);
      return 0;
    }
    case "list": {
      if (positionals.length > 1)
        throw new CliError(`weft identity list takes no SPIFFE ID, got "${spiffeId}"\n\n${identityUsage}`);
      const format = outputFormat(values.output);
      const res = await withAdmin(target, (admin) => admin.listRevokedIdentities({}));
      if (format !== "table") {
        ctx.out(
          structured(
            format,
            res.identities.map((r) => toJson(RevokedIdentitySchema, r)),
          ),
        );
        return 0;
      }
      ctx.out(table(["SPIFFE ID", "REVOKED", "REASON"], res.identities.map(row), "no revoked identities"));
      return 0;
    }
    default:
      throw new CliError(
        `weft identity: expected revoke, list or restore, got ${what === undefined ? "nothing" : `"${what}"`}\n\n${identityUsage}`,
      );
  }
}

function row(r: RevokedIdentity): string[] {
  const at = r.revokedAt ? new Date(timestampMs(r.revokedAt)).toISOString().replace(/\.\d{3}Z$/, "Z") : "-";
  return [r.spiffeId, at, r.reason || "-"];
}
