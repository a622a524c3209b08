import { describe, expect, it } from 'vitest';
import { rolloutState } from '../../src/runtimes/kubernetes/index.js';

const deployment = (generation: number, replicas: number, status: Record<string, unknown>) => ({
  metadata: { name: 'odoo-web', generation },
  spec: { replicas },
  status,
});

describe('rollout status, decided as kubectl rollout status does', () => {
  it('waits until the controller has seen the latest spec', () => {
    expect(rolloutState(deployment(2, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }))).toEqual({
      done: false,
      waiting: 'waiting for the deployment spec update to be observed',
    });
  });

  it('waits for updated replicas, then for old ones to go, then for availability', () => {
    expect(rolloutState(deployment(1, 2, { observedGeneration: 1, replicas: 2, updatedReplicas: 1 }))).toMatchObject({
      waiting: '1 of 2 new replicas have been updated',
    });
    expect(rolloutState(deployment(1, 2, { observedGeneration: 1, replicas: 3, updatedReplicas: 2 }))).toMatchObject({
      waiting: '1 old replicas are pending termination',
    });
    expect(rolloutState(deployment(1, 2, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }))).toMatchObject({
      waiting: '1 of 2 updated replicas are available',
    });
    expect(rolloutState(deployment(1, 2, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }))).toEqual({
      done: true,
    });
  });

  it('fails on ProgressDeadlineExceeded', () => {
    const state = rolloutState(
      deployment(1, 1, {
        observedGeneration: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "x" has timed out progressing.',
          },
        ],
      }),
    );
    expect(state).toEqual({
      done: false,
      failed: 'deployment odoo-web exceeded its progress deadline: ReplicaSet "x" has timed out progressing.',
    });
  });

  it('a deployment scaled to zero is rolled out', () => {
    expect(rolloutState(deployment(3, 0, { observedGeneration: 3 }))).toEqual({ done: true });
  });
});
