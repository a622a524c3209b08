import { describe, expect, it } from 'vitest';
import { registerCustomer, startTestPlatform } from '../helpers/platform.js';

describe('shutdown', () => {
  it('stops promptly while a client follows a tenant event stream', async () => {
    const test = await startTestPlatform();
    const customer = await registerCustomer(test.http, 'shutdown');
    await test.platform.database.db
      .insertInto('tenants')
      .values({
        name: 'streamed',
        account_id: customer.accountId,
        plan_code: 'basic',
        template_code: 'blank',
        state: 'stopped',
        database_name: 't_streamed',
        role_name: 'r_streamed',
        role_password_encrypted: 'v1.unused',
        process_strategy: 'pool',
        admin_email: customer.email,
        admin_login: customer.email,
      })
      .execute();
    const response = await fetch(`${test.url}/api/v1/tenants/streamed/events`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${customer.accessToken}` },
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body?.getReader();
    const first = new TextDecoder().decode((await reader?.read())?.value);
    expect(first).toMatch(/event: tenant/);

    const started = Date.now();
    await test.stop();
    // The stream was ended by the server rather than holding the shutdown open.
    expect(Date.now() - started).toBeLessThan(15_000);
    let done = false;
    while (!done) done = (await reader?.read().catch(() => ({ done: true })))?.done ?? true;
    expect(done).toBe(true);
  }, 30_000);
});
