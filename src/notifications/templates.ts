import type { MailMessage } from './mailer.js';

/** Mail texts: pure functions of their inputs so they can be tested and translated later. */
export function passwordResetMail(input: { to: string; name: string; link: string; validMinutes: number }): MailMessage {
  return {
    to: input.to,
    subject: 'Reset your password',
    text: [
      `Hello ${input.name},`,
      '',
      'Someone (hopefully you) asked to reset the password of your account.',
      `Open this link within ${input.validMinutes} minutes to choose a new password:`,
      '',
      input.link,
      '',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
  };
}

export function emailVerificationMail(input: { to: string; name: string; link: string }): MailMessage {
  return {
    to: input.to,
    subject: 'Confirm your email address',
    text: [`Hello ${input.name},`, '', 'Welcome! Please confirm your email address by opening this link:', '', input.link].join('\n'),
  };
}
