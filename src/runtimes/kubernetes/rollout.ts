/**
 * Waiting for a Deployment's rollout the way `kubectl rollout status` decides (its
 * DeploymentStatusViewer): the controller has observed the latest generation, every replica is
 * updated, no old replica is left, every updated replica is available; a Progressing condition
 * with reason ProgressDeadlineExceeded is a failure. The decision is pure; the wait polls.
 */
import type { KubeClient } from './api-client.js';
import { resourcePath } from './api-client.js';

interface DeploymentView {
  metadata: { name: string; namespace?: string; generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

export type RolloutState = { done: true } | { done: false; waiting: string } | { done: false; failed: string };

export function rolloutState(deployment: DeploymentView): RolloutState {
  const { metadata, spec, status = {} } = deployment;
  if ((metadata.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return { done: false, waiting: 'waiting for the deployment spec update to be observed' };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { done: false, failed: `deployment ${metadata.name} exceeded its progress deadline: ${progressing.message ?? ''}`.trim() };
  }
  const wanted = spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  if (updated < wanted) return { done: false, waiting: `${updated} of ${wanted} new replicas have been updated` };
  if ((status.replicas ?? 0) > updated)
    return { done: false, waiting: `${(status.replicas ?? 0) - updated} old replicas are pending termination` };
  if ((status.availableReplicas ?? 0) < updated)
    return { done: false, waiting: `${status.availableReplicas ?? 0} of ${updated} updated replicas are available` };
  return { done: true };
}

interface EventView {
  involvedObject?: { kind?: string; name?: string };
  reason?: string;
  message?: string;
  type?: string;
}

/** The recent events of the namespace's pods, newest last: what a failed rollout's error shows. */
async function podEvents(client: KubeClient, namespace: string): Promise<string[]> {
  const list = await client
    .get<{ items: EventView[] }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`)
    .catch(() => undefined);
  return (list?.items ?? [])
    .filter((e) => e.involvedObject?.kind === 'Pod' || e.involvedObject?.kind === 'ReplicaSet')
    .slice(-10)
    .map((e) => `${e.involvedObject?.kind}/${e.involvedObject?.name}: ${e.reason}: ${e.message}`);
}

export class RolloutFailedError extends Error {
  constructor(
    message: string,
    readonly events: string[],
  ) {
    super(events.length > 0 ? `${message}; pod events:\n${events.join('\n')}` : message);
    this.name = 'RolloutFailedError';
  }
}

/**
 * Waits until the Deployment's rollout is complete. Fails with the pod events when the
 * controller reports ProgressDeadlineExceeded, or when `timeoutMs` passes first.
 */
export async function waitForRollout(
  client: KubeClient,
  namespace: string,
  name: string,
  options: { timeoutMs: number; pollMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const path = resourcePath('apps/v1', 'Deployment', namespace, name);
  let last = 'the deployment does not exist yet';
  for (;;) {
    const deployment = await client.get<DeploymentView>(path);
    if (deployment) {
      const state = rolloutState(deployment);
      if (state.done) return;
      if ('failed' in state) throw new RolloutFailedError(state.failed, await podEvents(client, namespace));
      last = state.waiting;
    }
    if (Date.now() > deadline) {
      throw new RolloutFailedError(
        `deployment ${namespace}/${name} did not finish rolling out within ${options.timeoutMs / 1000} s (${last})`,
        await podEvents(client, namespace),
      );
    }
    // Polling the status: the controller writes it, there is nothing to wait on locally.
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
}
