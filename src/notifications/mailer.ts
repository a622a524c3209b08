import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '../logging/index.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /**
   * A stable Message-ID (notifications give each decided mail its own): a mail sent again after
   * a crash carries the same id, so receivers and the operator can tell it is the same mail.
   */
  messageId?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<{ messageId: string }>;
  close(): void;
}

/**
 * Sends mail through SMTP_URL. Without it (a fresh single-machine install) mails are written
 * as .eml files to an outbox directory instead, so nothing is lost and the operator can read
 * them; the log says where, but never prints a mail's body (it may carry a reset token).
 */
export function createMailer(options: { smtpUrl: string | undefined; from: string; outboxDir: string; logger: Logger }): Mailer {
  const transport = options.smtpUrl
    ? nodemailer.createTransport(options.smtpUrl)
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  return {
    async send(message) {
      const info = await transport.sendMail({ from: options.from, ...message });
      if (!options.smtpUrl) {
        mkdirSync(options.outboxDir, { recursive: true, mode: 0o700 });
        const file = join(options.outboxDir, `${Date.now()}-${info.messageId.replace(/[^a-zA-Z0-9.-]/g, '')}.eml`);
        writeFileSync(file, (info as unknown as { message: Buffer }).message, { mode: 0o600 });
        options.logger.info({ to: message.to, subject: message.subject, file }, 'SMTP_URL not set: mail written to outbox');
      } else {
        options.logger.info({ to: message.to, subject: message.subject }, 'mail sent');
      }
      return { messageId: info.messageId };
    },
    close() {
      transport.close();
    },
  };
}
