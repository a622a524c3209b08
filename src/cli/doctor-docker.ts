import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import { imageOf } from '../runtimes/index.js';
import type { DoctorCheck } from './doctor.js';

const ENABLES =
  'the docker runtime: plans with `runtime: docker` run each tenant in a container of its own (CPU/memory limits, a network per tenant); without an engine their tenants cannot start';

/** The engine DOCKER_HOST names (unix:// or tcp://), else the system socket; undefined: none. */
function engineAddress(env: NodeJS.ProcessEnv): string | undefined {
  if (env.DOCKER_HOST) return env.DOCKER_HOST;
  return existsSync('/var/run/docker.sock') ? 'unix:///var/run/docker.sock' : undefined;
}

function clientFor(address: string): Docker {
  if (address.startsWith('unix://')) return new Docker({ socketPath: address.slice('unix://'.length), timeout: 5_000 });
  const url = new URL(address.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http', timeout: 5_000 });
}

/**
 * `saasctl doctor`'s Docker line: asks the engine itself (a socket that exists may have no
 * daemon behind it), and whether the image of the default series is there (an engine without a
 * registry cannot pull it when the first docker tenant starts).
 */
export async function dockerEngineCheck(env: NodeJS.ProcessEnv = process.env): Promise<DoctorCheck> {
  const address = engineAddress(env);
  const enabled = env.DOCKER_RUNTIME === 'true';
  const switchNote = enabled ? '' : '; DOCKER_RUNTIME is not true, so docker plans are not served';
  if (!address) {
    return {
      name: 'Docker engine',
      status: enabled ? 'missing' : 'warning',
      found: `no engine: DOCKER_HOST unset and no /var/run/docker.sock${switchNote}`,
      enables: ENABLES,
      fix: 'install Docker (apt-get install docker.io) and start it, or set DOCKER_HOST; see docs/operations/docker.md',
    };
  }
  const docker = clientFor(address);
  let version: { Version: string; ApiVersion: string };
  try {
    version = await docker.version();
  } catch (error) {
    return {
      name: 'Docker engine',
      status: enabled ? 'missing' : 'warning',
      found: `${address} does not answer (${(error as Error).message})${switchNote}`,
      enables: ENABLES,
      fix: 'start the Docker daemon (systemctl start docker) or point DOCKER_HOST at a running one; see docs/operations/docker.md',
    };
  }
  const image = imageOf(env.DOCKER_ODOO_IMAGE ?? 'odoo:{major}', env.ODOO_SERIES ?? '17.0');
  const hasImage = await docker
    .getImage(image)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  const found = `Docker ${version.Version} (API ${version.ApiVersion}) at ${address}; image ${image} ${hasImage ? 'present' : 'not on the engine yet (pulled at the first docker tenant, if a registry is reachable)'}${switchNote}`;
  return {
    name: 'Docker engine',
    status: hasImage && enabled ? 'ok' : 'warning',
    found,
    enables: ENABLES,
    ...(hasImage ? {} : { fix: `docker pull ${image} (or docker load an archive of it) on the engine's host` }),
    ...(enabled ? {} : { fix: 'set DOCKER_RUNTIME=true to serve docker plans; see docs/operations/docker.md' }),
  };
}
