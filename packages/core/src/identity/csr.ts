import { x509 } from "./x509.ts";

const NAME_KINDS: Readonly<Record<string, string>> = {
  dns: "a DNS name",
  ip: "an IP address",
  email: "an email address",
  dn: "a directory name",
  guid: "a GUID",
  upn: "a user principal name",
  id: "a registered ID",
};

/**
 * Why a CA must refuse to sign `csr`, or undefined. A workload certificate carries its SPIFFE
 * ID and nothing else, so the request may name at most one URI SAN, a SPIFFE ID, and no other
 * kind of name; it may not ask to be a CA or to sign certificates or CRLs. Which identity is
 * certified is still the CA's decision (from the requester's credential): a request is refused
 * for asking for more than an identity, never trusted for which one.
 */
export function csrProblem(csr: x509.Pkcs10CertificateRequest): string | undefined {
  const uris: string[] = [];
  for (const ext of csr.extensions) {
    if (ext instanceof x509.SubjectAlternativeNameExtension) {
      for (const name of ext.names.items) {
        if (name.type !== "url") {
          return `CSR asks for ${NAME_KINDS[name.type] ?? `a ${name.type} name`} (${JSON.stringify(name.value)}) as subject alternative name; a workload certificate names only its SPIFFE ID`;
        }
        uris.push(name.value);
      }
    } else if (ext instanceof x509.BasicConstraintsExtension && ext.ca) {
      return "CSR asks for basicConstraints CA:true; a workload certificate is never a CA";
    } else if (
      ext instanceof x509.KeyUsagesExtension &&
      ext.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)
    ) {
      return "CSR asks for key usage keyCertSign or cRLSign; a workload certificate signs neither";
    }
  }
  if (uris.length > 1) {
    return `CSR asks for ${uris.length} URI SANs (${uris.join(", ")}); a workload certificate carries exactly one SPIFFE ID`;
  }
  const uri = uris[0];
  if (uri !== undefined && !uri.startsWith("spiffe://")) {
    return `CSR asks for the URI SAN ${JSON.stringify(uri)}, which is not a SPIFFE ID`;
  }
  return undefined;
}
