/**
 * Custom domains of tenants (`erp.acme.com`): the names customers may add, the DNS proof and
 * pointing checks, the claims (store.ts owns `custom_domains`), and each replica's in-memory
 * table of routed domains that the gateway and the TLS ask endpoint read.
 */
export {
  CERTIFICATE_WARNING_SHARE,
  type CertificateHealth,
  type CertificateProbe,
  type CertificateSighting,
  createCertificateProbe,
  judgeCertificate,
} from './certificate.js';
export {
  createHttpProofFetch,
  createHttpProofResponder,
  HTTP_PROOF_PATH,
  type HttpProofFetch,
  type HttpProofResult,
  httpProofPath,
} from './http-proof.js';
export { checkCustomDomain, type DomainNameCheck, toAsciiDomain, verificationRecordName } from './name.js';
export { domainProofs } from './proofs.js';
export {
  createDomainService,
  DOMAIN_RECHECK_QUEUE,
  type DomainService,
  type DomainServiceDependencies,
  MAX_DOMAINS_PER_TENANT,
  TENANT_BASE_URL_QUEUE,
} from './service.js';
export { certificateExpiriesPerTenant } from './store.js';
export { createDomainTable, type DomainTable } from './table.js';
export {
  createDnsLookup,
  type DnsLookup,
  type DnsObservation,
  type Expectation,
  type HttpProofSighting,
  httpProofCouldHelp,
  judge,
  type Verdict,
} from './verify.js';
export { DOMAIN_STATUSES, type DomainView, domainViewSchema } from './views.js';
