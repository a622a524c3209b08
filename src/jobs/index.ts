export {
  InvalidJobPayloadError,
  JOB_CATALOG,
  type JobPayload,
  type JobPayloadInput,
  parseJobPayload,
  type QueueDefinition,
  type QueueName,
  TENANT_OPERATIONS,
  type TenantOperation,
} from './catalog.js';
export {
  createJobQueue,
  JOB_STATES,
  type JobAttempt,
  type JobHandler,
  type JobListQuery,
  type JobQueue,
  type JobRecord,
  type JobState,
} from './queue.js';
