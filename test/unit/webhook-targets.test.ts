import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, isAllowedAddress, nextRetryDelay, parseNetworks, resolveTarget } from '../../src/webhooks/index.js';

const none = parseNetworks('');

describe('webhook targets (server-side request forgery)', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    '224.0.0.1',
  ])('refuses %s', (address) => {
    expect(isAllowedAddress(address, none)).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '172.32.0.1'])('allows the public address %s', (address) => {
    expect(isAllowedAddress(address, none)).toBe(true);
  });

  it('allows exactly the networks the operator names', () => {
    const allowed = parseNetworks('127.0.0.0/8, fd00::/8');
    expect(isAllowedAddress('127.0.0.1', allowed)).toBe(true);
    expect(isAllowedAddress('fd12::5', allowed)).toBe(true);
    expect(isAllowedAddress('10.0.0.1', allowed)).toBe(false);
    expect(isAllowedAddress('::1', allowed)).toBe(false);
    expect(() => parseNetworks('10.0.0.0/33')).toThrow('"10.0.0.0/33" is not a network');
  });

  it.each([
    ['http://127.0.0.1:8080/hook', '127.0.0.1'],
    ['http://10.0.0.7/hook', '10.0.0.7'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://[::1]/hook', '::1'],
    ['https://[fe80::1]/hook', 'fe80::1'],
  ])('refuses %s naming the address and the url field', async (url, address) => {
    await expect(resolveTarget(url, none)).rejects.toMatchObject({ field: 'url', message: expect.stringContaining(address) });
  });

  it('refuses a host name that resolves to loopback (localhost), through the real resolver', async () => {
    await expect(resolveTarget('http://localhost:9/hook', none)).rejects.toMatchObject({
      field: 'url',
      message: expect.stringMatching(/The host localhost resolves to (127\.0\.0\.1|::1)/),
    });
  });

  it('refuses a name when any of its addresses is private, and pins the checked address', async () => {
    const answers = [
      [{ address: '93.184.216.34', family: 4 }],
      [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ],
      [{ address: '127.0.0.1', family: 4 }],
    ];
    let call = 0;
    const resolve = (async () => answers[call++]) as unknown as typeof import('node:dns/promises').lookup;
    // Registration: public. Later lookups of the same name (DNS rebinding) are checked again.
    await expect(resolveTarget('https://hooks.example.com/x', none, { resolve })).resolves.toMatchObject({
      address: '93.184.216.34',
      family: 4,
    });
    await expect(resolveTarget('https://hooks.example.com/x', none, { resolve })).rejects.toThrow('10.0.0.1');
    await expect(resolveTarget('https://hooks.example.com/x', none, { resolve })).rejects.toThrow('127.0.0.1');
  });

  it.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/', 'http://user:secret@example.com/', 'example.com/hook'])(
    'refuses %s before any lookup',
    async (url) => {
      await expect(resolveTarget(url, none)).rejects.toMatchObject({ field: 'url' });
    },
  );
});

describe('webhook retry schedule', () => {
  it('backs off from 30 s doubling to an hour, and gives up 24 h after the delivery was made', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    const delays: number[] = [];
    let now = created;
    for (let failures = 1; ; failures++) {
      const delay = nextRetryDelay(DEFAULT_RETRY_POLICY, failures, created, now);
      if (delay === undefined) break;
      delays.push(delay);
      now = new Date(now.getTime() + delay * 1000);
    }
    expect(delays.slice(0, 8)).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600]);
    expect(Math.max(...delays)).toBe(3600);
    const lastAttempt = now.getTime() - created.getTime();
    expect(lastAttempt).toBeLessThanOrEqual(24 * 3600_000);
    expect(lastAttempt).toBeGreaterThan(23 * 3600_000);
    expect(delays.length).toBeGreaterThan(25);
  });
});
