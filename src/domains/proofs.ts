import type { Config } from '../config/index.js';
import { parseNetworks } from '../webhooks/index.js';
import { createCertificateProbe } from './certificate.js';
import { createHttpProofFetch } from './http-proof.js';
import type { DomainServiceDependencies } from './service.js';

/** The optional checks of the domain service, as the configuration enables them. */
export function domainProofs(
  config: Pick<Config, 'domainHttpProofPort' | 'domainHttpProofNetworks' | 'edgeTlsAddress'>,
): Pick<DomainServiceDependencies, 'fetchHttpProof' | 'probeCertificate'> {
  return {
    ...(config.domainHttpProofPort > 0
      ? {
          fetchHttpProof: createHttpProofFetch({
            port: config.domainHttpProofPort,
            allowedNetworks: parseNetworks(config.domainHttpProofNetworks),
          }),
        }
      : {}),
    ...(config.edgeTlsAddress ? { probeCertificate: createCertificateProbe(config.edgeTlsAddress) } : {}),
  };
}
