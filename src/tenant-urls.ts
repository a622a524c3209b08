import type { Config } from './config/index.js';

/** `http://acme.example.com:8080`: the scheme and port of PUBLIC_URL (or of the gateway's own port). */
export function tenantUrlBuilder(config: Pick<Config, 'publicUrl' | 'baseDomain' | 'gatewayPort'>) {
  const publicUrl = new URL(config.publicUrl);
  const port = config.gatewayPort ? String(config.gatewayPort) : publicUrl.port;
  return {
    hostName: (name: string) => `${name}.${config.baseDomain}`,
    baseUrl: (name: string) => `${publicUrl.protocol}//${name}.${config.baseDomain}${port ? `:${port}` : ''}`,
  };
}
