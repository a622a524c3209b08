export { createDockerRuntime, type DockerRuntime, type DockerRuntimeOptions } from './runtime.js';
export {
  containerDatabaseHost,
  type DockerSettings,
  dedicatedContainerSpec,
  dedicatedFingerprint,
  dedicatedNames,
  dedicatedOdooConfig,
  demuxLogLines,
  imageOf,
  isLoopbackHost,
  LABELS,
  networkSpec,
  resourceLimits,
  singleFileTar,
  volumeSpec,
} from './specs.js';
