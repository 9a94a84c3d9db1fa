import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ControlPlane, issueToken } from "@weft/control-plane";
import { requestWorkloadCredentials } from "@weft/core/transport";

/** PEM files of one workload, for `weft-sidecar run --cert --key --ca`. */
export interface WorkloadFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly spiffeId: string;
  readonly notAfter: Date;
}

/** A bootstrap token for `sa` in `namespace`, as `weft token create` makes one. */
export async function bootstrapToken(cp: ControlPlane, namespace: string, sa: string): Promise<string> {
  return (await issueToken(cp.store, { namespace, serviceAccount: sa, ttlSeconds: 600 })).token;
}

/**
 * What a sidecar will do itself once it talks to the control plane: a key pair made here,
 * a CSR with a bootstrap token, a certificate from the control plane's CA. Written to files
 * (key mode 0600) in `dir` as `<name>.crt`, `<name>.key`, `<name>-ca.pem`.
 */
export async function workloadFiles(
  cp: ControlPlane,
  dir: string,
  name: string,
  identity: { namespace: string; serviceAccount: string },
): Promise<WorkloadFiles> {
  const issued = await requestWorkloadCredentials({
    url: cp.url,
    credential: await bootstrapToken(cp, identity.namespace, identity.serviceAccount),
    spiffeId: `spiffe://weft.local/ns/${identity.namespace}/sa/${identity.serviceAccount}`,
  });
  const files = {
    cert: join(dir, `${name}.crt`),
    key: join(dir, `${name}.key`),
    ca: join(dir, `${name}-ca.pem`),
  };
  await writeFile(files.cert, issued.chain);
  await writeFile(files.key, issued.key, { mode: 0o600 });
  await writeFile(files.ca, issued.trustAnchors.join("\n"));
  return { ...files, spiffeId: issued.spiffeId, notAfter: issued.notAfter };
}
