import { issueTestCredentials, testCertificateAuthority } from "@weft/core/testing";

export const testCa = testCertificateAuthority;
export const workload = issueTestCredentials;
