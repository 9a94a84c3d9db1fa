export {
  type CaOptions,
  type CertificateAuthority,
  createIntermediateCa,
  createRootCa,
  type Instant,
  presentedChain,
  type SignLeafOptions,
  signLeaf,
} from "./certificates.ts";
export { csrProblem } from "./csr.ts";
export {
  createCsr,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  WORKLOAD_KEY_ALGORITHM,
} from "./keys.ts";
export {
  DEFAULT_RENEWAL_POLICY,
  type RenewalPolicy,
  RenewalScheduler,
  type RenewalSchedulerOptions,
  renewalDelay,
  resolveRenewalPolicy,
  retryDelay,
  type Validity,
} from "./renewal.ts";
export {
  type RenewalProofFields,
  type RenewalProofRejection,
  type RenewalProofVerdict,
  type RenewalSignatureAlgorithm,
  renewalProofMessage,
  type SignedRenewalProof,
  signRenewalProof,
  type VerifyRenewalProofOptions,
  verifyRenewalProof,
} from "./renewal-proof.ts";
export { type RotationOptions, rotationDue, rotationTime } from "./rotation.ts";
export {
  compareIdentities,
  formatPeerIdentity,
  formatSpiffeId,
  parsePeerIdentity,
  parseSpiffeId,
  pathSegmentProblem,
  peerIdentity,
  type SpiffeId,
  SpiffeIdError,
  sameIdentity,
  spiffeIdProblem,
  trustDomainProblem,
} from "./spiffe.ts";
export {
  isCaCertificate,
  PeerCertificateError,
  type PeerRejectionReason,
  spiffeIdFromCertificate,
  uriSans,
} from "./svid.ts";
export { type PeerVerification, type VerifyPeerOptions, verifyPeerChain } from "./verify.ts";
export type { AlgorithmParams, Bytes, Key, KeyPair } from "./webcrypto.ts";
export { type CertificateInput, certificatePem, certificatesFromPem, toCertificate, x509 } from "./x509.ts";
