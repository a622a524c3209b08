/** Checks of a running cluster (seed 000's isolation and distribution checks): pure judges, the scripts fetch. */
export { type DistributionReport, formatDistribution, judgeDistribution, type PlacedPod } from './distribution.js';
export {
  type IsolationPlanInput,
  type IsolationProbe,
  isolationProbes,
  judgeIsolation,
  PROBE_LABEL,
  type ProbeResult,
  probeOutcome,
  probePod,
} from './isolation.js';
export { checkDistribution, checkIsolation } from './run.js';
