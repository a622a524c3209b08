import { describe, expect, it } from 'vitest';
import {
  NOTIFICATION_TEMPLATES,
  type NotificationTemplate,
  renderNotification,
  templateOfStateChange,
} from '../../src/notifications/index.js';

const vars = {
  name: 'Ada <Admin>',
  tenantName: 'acme',
  tenantUrl: 'http://acme.example.com',
  dashboardUrl: 'http://app.example.com/dashboard/?a=1&b=2',
  endsOn: '1 March',
  deleteOn: '2 March',
  limit: 'users',
  percent: '80',
  endpointUrl: 'https://hooks.example.com/in',
  failures: '30',
  count: '2',
};

describe('notification templates', () => {
  it.each(Object.keys(NOTIFICATION_TEMPLATES) as NotificationTemplate[])('%s renders text and HTML with its link', (template) => {
    const mail = renderNotification(template, vars);
    expect(mail.subject.length).toBeGreaterThan(5);
    expect(mail.text).toContain('Hello Ada <Admin>,');
    expect(mail.html).toContain('Hello Ada &#60;Admin&#62;,');
    expect(mail.html).not.toContain('<Admin>');
    const link = /: (http\S+)\n$/.exec(mail.text)?.[1];
    expect(link).toBeDefined();
    expect(mail.html).toContain(`href="${(link ?? '').replace(/&/g, '&#38;')}"`);
  });

  it('names the variables a template misses', () => {
    expect(() => renderNotification('tenant_ready', { name: 'x' })).toThrow('Notification tenant_ready needs tenantName, tenantUrl');
  });

  it('the terminated mail says how to get the last backup', () => {
    expect(renderNotification('terminated', vars).text).toContain('last backup stays downloadable from the dashboard');
  });

  it.each([
    [{ fromState: 'starting', toState: 'running' }, 'tenant_ready'],
    [{ fromState: 'running', toState: 'suspended' }, 'suspended'],
    [{ fromState: 'suspended', toState: 'starting' }, 'resumed'],
    [{ fromState: 'stopped', toState: 'starting' }, undefined],
    [{ fromState: 'running', toState: 'scheduled_for_deletion' }, 'deletion_scheduled'],
    [{ fromState: 'scheduled_for_deletion', toState: 'terminated' }, 'terminated'],
    [{ fromState: 'running', toState: 'stopping' }, undefined],
  ])('a move %o sends %s', (move, template) => {
    expect(templateOfStateChange({ tenantId: 't', eventId: 1, ...move })).toBe(template);
  });
});
