/**
 * Every notification mail in one place: subject, paragraphs and an optional link, rendered to
 * plain text and HTML by the same function, so the two never drift apart. Templates are pure
 * functions of string variables (what the notification log keeps, so a resend renders the same
 * mail). A new kind of mail (billing, backups, limits) is a new entry here.
 */
type Vars = Record<string, string>;

interface TemplateDefinition {
  /** The variables the template reads: a missing one is a programming error, caught at decision time. */
  needs: readonly string[];
  subject(v: Vars): string;
  paragraphs(v: Vars): string[];
  action?: (v: Vars) => { label: string; url: string };
}

const tenantLink = (v: Vars) => ({ label: `Open ${v.tenantName}`, url: v.tenantUrl ?? '' });
const dashboardLink = (v: Vars) => ({ label: 'Open the dashboard', url: v.dashboardUrl ?? '' });

export const NOTIFICATION_TEMPLATES = {
  welcome: {
    needs: ['name', 'dashboardUrl'],
    subject: () => 'Welcome to your Odoo hosting',
    paragraphs: (v) => [`Hello ${v.name},`, 'Your account is ready. Create your first Odoo database from the dashboard.'],
    action: dashboardLink,
  },
  tenant_ready: {
    needs: ['name', 'tenantName', 'tenantUrl'],
    subject: (v) => `${v.tenantName} is ready`,
    paragraphs: (v) => [`Hello ${v.name},`, `Your Odoo database ${v.tenantName} is ready to use at ${v.tenantUrl}.`],
    action: tenantLink,
  },
  trial_ending: {
    needs: ['name', 'tenantName', 'endsOn', 'dashboardUrl'],
    subject: (v) => `The trial of ${v.tenantName} ends on ${v.endsOn}`,
    paragraphs: (v) => [`Hello ${v.name},`, `The trial of ${v.tenantName} ends on ${v.endsOn}. Choose a plan to keep it running.`],
    action: dashboardLink,
  },
  payment_failed: {
    needs: ['name', 'tenantName', 'dashboardUrl'],
    subject: (v) => `Payment for ${v.tenantName} failed`,
    paragraphs: (v) => [
      `Hello ${v.name},`,
      `We could not collect the payment for ${v.tenantName}. Update your payment method to avoid a suspension.`,
    ],
    action: dashboardLink,
  },
  suspended: {
    needs: ['name', 'tenantName', 'dashboardUrl'],
    subject: (v) => `${v.tenantName} is suspended`,
    paragraphs: (v) => [
      `Hello ${v.name},`,
      `Your Odoo database ${v.tenantName} is suspended: its users cannot sign in. Your data is kept.`,
      'The dashboard tells why and what brings it back; write to support if it does not.',
    ],
    action: dashboardLink,
  },
  resumed: {
    needs: ['name', 'tenantName', 'tenantUrl'],
    subject: (v) => `${v.tenantName} is running again`,
    paragraphs: (v) => [`Hello ${v.name},`, `Your Odoo database ${v.tenantName} is running again.`],
    action: tenantLink,
  },
  deletion_scheduled: {
    needs: ['name', 'tenantName', 'deleteOn', 'dashboardUrl'],
    subject: (v) => `${v.tenantName} will be deleted on ${v.deleteOn}`,
    paragraphs: (v) => [
      `Hello ${v.name},`,
      `Your Odoo database ${v.tenantName} is scheduled for deletion on ${v.deleteOn}. Until then you can cancel the deletion from the dashboard.`,
    ],
    action: dashboardLink,
  },
  terminated: {
    needs: ['name', 'tenantName', 'dashboardUrl'],
    subject: (v) => `${v.tenantName} was terminated`,
    paragraphs: (v) => [
      `Hello ${v.name},`,
      `Your Odoo database ${v.tenantName} was terminated and no longer answers.`,
      'Its last backup stays downloadable from the dashboard (Backups tab of the instance) until the retention period ends.',
    ],
    action: dashboardLink,
  },
  backup_failed: {
    needs: ['name', 'tenantName', 'dashboardUrl'],
    subject: (v) => `Backup of ${v.tenantName} failed`,
    paragraphs: (v) => [
      `Hello ${v.name},`,
      `Tonight's backup of ${v.tenantName} failed. We are looking into it; your previous backups are unaffected.`,
    ],
    action: dashboardLink,
  },
  limit_warning: {
    needs: ['name', 'tenantName', 'limit', 'percent', 'dashboardUrl'],
    subject: (v) => `${v.tenantName} uses ${v.percent} % of its ${v.limit} limit`,
    paragraphs: (v) => [
      `Hello ${v.name},`,
      `${v.tenantName} uses ${v.percent} % of the ${v.limit} its plan allows. Upgrade the plan or reduce usage before it is enforced.`,
    ],
    action: dashboardLink,
  },
  limit_reached: {
    needs: ['name', 'tenantName', 'limit', 'dashboardUrl'],
    subject: (v) => `${v.tenantName} reached its ${v.limit} limit`,
    paragraphs: (v) => [
      `Hello ${v.name},`,
      `${v.tenantName} reached the ${v.limit} its plan allows; the plan's limit now applies. Upgrade the plan from the dashboard to lift it.`,
    ],
    action: dashboardLink,
  },
  users_deactivated: {
    needs: ['name', 'tenantName', 'count', 'limit', 'dashboardUrl'],
    subject: (v) => `${v.count} users of ${v.tenantName} were deactivated`,
    paragraphs: (v) => [
      `Hello ${v.name},`,
      `${v.tenantName} stayed over its plan's limit of ${v.limit} internal users past the grace period, so its ${v.count} newest internal users were deactivated (archived, not deleted).`,
      'Upgrade the plan from the dashboard, then reactivate them in Odoo (Settings, Users, filter Archived).',
    ],
    action: dashboardLink,
  },
  password_changed: {
    needs: ['name', 'dashboardUrl'],
    subject: () => 'Your password was changed',
    paragraphs: (v) => [
      `Hello ${v.name},`,
      'The password of your account was just changed. If this was not you, reset it now from the sign-in page and tell support.',
    ],
    action: dashboardLink,
  },
  webhook_disabled: {
    needs: ['name', 'endpointUrl', 'failures', 'dashboardUrl'],
    subject: () => 'A webhook endpoint was disabled',
    paragraphs: (v) => [
      `Hello ${v.name},`,
      `Your webhook endpoint ${v.endpointUrl} failed ${v.failures} deliveries in a row, so we stopped sending to it.`,
      'Fix the receiver, then enable the endpoint again from the dashboard (Webhooks); failed deliveries can be redelivered there.',
    ],
    action: dashboardLink,
  },
} satisfies Record<string, TemplateDefinition>;

export type NotificationTemplate = keyof typeof NOTIFICATION_TEMPLATES;

export function isNotificationTemplate(name: string): name is NotificationTemplate {
  return Object.hasOwn(NOTIFICATION_TEMPLATES, name);
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The mail of `template` with `vars`; throws naming the missing variables. */
export function renderNotification(template: NotificationTemplate, vars: Vars): RenderedMail {
  const definition: TemplateDefinition = NOTIFICATION_TEMPLATES[template];
  const missing = definition.needs.filter((name) => vars[name] === undefined);
  if (missing.length > 0) throw new Error(`Notification ${template} needs ${missing.join(', ')}`);
  const paragraphs = definition.paragraphs(vars);
  const action = definition.action?.(vars);
  const text = [...paragraphs, ...(action ? [`${action.label}: ${action.url}`] : [])].join('\n\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(action ? [`<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>`] : []),
    '</body></html>',
  ].join('\n');
  return { subject: definition.subject(vars), text: `${text}\n`, html };
}
