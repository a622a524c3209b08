export { createMailer, type Mailer, type MailMessage } from './mailer.js';
export { emailVerificationMail, passwordResetMail } from './templates.js';
