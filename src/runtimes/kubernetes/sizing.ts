/**
 * How a plan's limits are cut into pods and a namespace quota. Pure.
 *
 * A plan's CPU and memory are the tenant's total. They are shared equally by the pods that run
 * at most at once: the web replicas (the autoscaler's maximum for plans that scale), the cron
 * pod and, for dedicated-database plans, the PostgreSQL instance. The quota is that total plus
 * one pod's share, so a rolling update can start its one surge pod without being refused.
 */
export interface PlanShape {
  code: string;
  limits: { cpu: number; memoryMiB: number; storageGiB: number };
  placement: { databaseStrategy: 'shared' | 'dedicated'; processStrategy: 'pool' | 'dedicated'; replicas: number };
}

export interface PodShare {
  /** millicores */
  cpuMilli: number;
  memoryMiB: number;
}

export interface PlanSizing {
  webReplicas: number;
  /** The autoscaler's maximum, when the plan scales (more than one replica). */
  autoscale?: { minReplicas: number; maxReplicas: number } | undefined;
  /** Limits of each Odoo or PostgreSQL container; requests are half of them. */
  pod: PodShare;
  quota: { cpuMilli: number; memoryMiB: number; pods: number; storageGiB: number; persistentVolumeClaims: number };
  /** The filestore volume and, for a dedicated database, the database volume. */
  filestoreGiB: number;
  databaseGiB?: number | undefined;
}

export function planSizing(plan: PlanShape): PlanSizing {
  const webReplicas = plan.placement.replicas;
  // Plans with more than one replica scale: they are the ones whose traffic varies enough to pay for it.
  const autoscale = webReplicas > 1 ? { minReplicas: webReplicas, maxReplicas: webReplicas * 2 } : undefined;
  const dedicatedDatabase = plan.placement.databaseStrategy === 'dedicated';
  const sharers = (autoscale?.maxReplicas ?? webReplicas) + 1 + (dedicatedDatabase ? 1 : 0);
  const pod: PodShare = {
    cpuMilli: Math.max(100, Math.floor((plan.limits.cpu * 1000) / sharers)),
    memoryMiB: Math.max(256, Math.floor(plan.limits.memoryMiB / sharers)),
  };
  const databaseGiB = dedicatedDatabase ? Math.max(1, Math.floor(plan.limits.storageGiB / 2)) : undefined;
  const filestoreGiB = Math.max(1, plan.limits.storageGiB - (databaseGiB ?? 0));
  return {
    webReplicas,
    autoscale,
    pod,
    quota: {
      cpuMilli: pod.cpuMilli * (sharers + 1),
      memoryMiB: pod.memoryMiB * (sharers + 1),
      pods: sharers + 1,
      storageGiB: filestoreGiB + (databaseGiB ?? 0),
      persistentVolumeClaims: dedicatedDatabase ? 2 : 1,
    },
    filestoreGiB,
    databaseGiB,
  };
}

export const cpu = (milli: number): string => `${Math.floor(milli)}m`;
export const mebibytes = (mib: number): string => `${Math.floor(mib)}Mi`;
export const gibibytes = (gib: number): string => `${gib}Gi`;
