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
export { createJobLogs, JOB_LOG_LEVELS, JOB_LOG_RETENTION_DAYS, type JobLogLevel, type JobLogRecord, parseLogLine } from './logs.js';
export {
  createJobQueue,
  JOB_STATES,
  type JobAttempt,
  type JobHandler,
  type JobListQuery,
  type JobObserver,
  type JobQueue,
  type JobRecord,
  type JobState,
  type QueueCounts,
} from './queue.js';
