export {
  isNotificationTemplate,
  NOTIFICATION_TEMPLATES,
  type NotificationTemplate,
  type RenderedMail,
  renderNotification,
} from './catalog.js';
export { createMailer, type Mailer, type MailMessage } from './mailer.js';
export {
  addTenantLifecycleRules,
  createNotificationRules,
  type NotificationDirectory,
  type NotificationIntent,
  type NotificationRule,
  type NotificationRules,
  type TenantContacts,
  templateOfStateChange,
  toTenantContacts,
} from './rules.js';
export {
  createNotificationService,
  NOTIFICATION_CRASH_POINTS,
  type NotificationService,
  type NotificationView,
  toNotificationView,
} from './service.js';
export { emailVerificationMail, passwordResetMail } from './templates.js';
