import type { CertificateAuthority } from "@weft/core";
import { issueTestCredentials, testCertificateAuthority } from "@weft/core/testing";

export const testCa = testCertificateAuthority;
export const workload = issueTestCredentials;
export const anchorOf = (ca: CertificateAuthority): string => ca.certificate.toString("pem");
