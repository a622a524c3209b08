import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkDownloadLink, jitterSeconds, latestDueSlot, signDownloadLink } from '../../src/backups/index.js';
import { odooPgVersion, odooReleaseOf, seriesOfModuleVersion } from '../../src/odoo/index.js';

describe('daily backup slots', () => {
  const utc = { hour: 2, timeZone: 'UTC' };

  it('gives each tenant a stable jitter within the hour, spread over it', () => {
    const ids = Array.from({ length: 2000 }, () => randomUUID());
    const jitters = ids.map(jitterSeconds);
    expect(ids.map(jitterSeconds)).toEqual(jitters); // stable
    expect(Math.min(...jitters)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...jitters)).toBeLessThan(3600);
    // Spread: every 10-minute band of the hour gets a sixth of the tenants, give or take.
    const bands = [0, 0, 0, 0, 0, 0];
    for (const j of jitters) bands[Math.floor(j / 600)] = (bands[Math.floor(j / 600)] ?? 0) + 1;
    for (const band of bands) expect(band).toBeGreaterThan(250);
  });

  it('owes the slot of today once it passed, else yesterday’s; the same slot all day long', () => {
    const id = randomUUID();
    const slotToday = new Date(Date.UTC(2026, 2, 10, 2, 0, 0) + jitterSeconds(id) * 1000);
    expect(latestDueSlot(id, new Date(slotToday.getTime() - 1), utc).getTime()).toBe(slotToday.getTime() - 86_400_000);
    expect(latestDueSlot(id, slotToday, utc)).toEqual(slotToday);
    expect(latestDueSlot(id, new Date(Date.UTC(2026, 2, 10, 23, 59)), utc)).toEqual(slotToday);
  });

  it('runs at 02:xx wall-clock time in the platform time zone, across daylight saving changes', () => {
    const id = randomUUID();
    const zone = { hour: 2, timeZone: 'Europe/Brussels' };
    const wall = (date: Date) =>
      new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Brussels', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
    const minutes = String(Math.floor(jitterSeconds(id) / 60)).padStart(2, '0');
    const expected = `02:${minutes}`;
    // The two days around each change of 2026 (Mar 29, Oct 25), and the autumn change itself (02:xx happens twice).
    for (const day of ['2026-01-15', '2026-03-28', '2026-03-30', '2026-07-15', '2026-10-24', '2026-10-25', '2026-10-26']) {
      const slot = latestDueSlot(id, new Date(`${day}T23:00:00Z`), zone);
      expect(wall(slot), day).toBe(expected);
      expect(slot.toISOString().slice(0, 10)).toBe(day);
    }
    // The spring change skips 02:00-03:00: that day's backup runs at the same instant, 03:xx.
    const spring = latestDueSlot(id, new Date('2026-03-29T23:00:00Z'), zone);
    expect(wall(spring)).toBe(`03:${minutes}`);
    expect(spring.toISOString().slice(0, 10)).toBe('2026-03-29');
    // Winter: Brussels is UTC+1, so 02:xx local is 01:xx UTC; summer: UTC+2, 00:xx UTC.
    expect(latestDueSlot(id, new Date('2026-01-15T23:00:00Z'), zone).getUTCHours()).toBe(1);
    expect(latestDueSlot(id, new Date('2026-07-15T23:00:00Z'), zone).getUTCHours()).toBe(0);
  });
});

describe("Odoo's manifest values", () => {
  it('derives version, version_info and major_version as odoo/release.py does', () => {
    expect(odooReleaseOf('16.0')).toEqual({ version: '16.0', version_info: [16, 0, 0, 'final', 0, ''], major_version: '16.0' });
    expect(odooReleaseOf('17.0+e')).toEqual({ version: '17.0+e', version_info: [17, 0, 0, 'final', 0, '+e'], major_version: '17.0' });
    expect(odooReleaseOf('saas~17.1')).toEqual({
      version: 'saas~17.1',
      version_info: ['saas~17', 1, 0, 'final', 0, ''],
      major_version: 'saas~17.1',
    });
    expect(odooReleaseOf('18.0rc1')).toEqual({ version: '18.0rc1', version_info: [18, 0, 0, 'candidate', 1, ''], major_version: '18.0' });
    expect(() => odooReleaseOf('latest')).toThrow(/not an Odoo version/);
  });

  it('reads the series from the base module version', () => {
    expect(seriesOfModuleVersion('16.0.1.3')).toBe('16.0');
    expect(seriesOfModuleVersion('saas~17.1.1.0')).toBe('saas~17.1');
    expect(seriesOfModuleVersion('1.3')).toBeUndefined();
  });

  it("computes pg_version with Odoo's Python 3 arithmetic (true division: 10+ always reads <major>.0)", () => {
    expect(odooPgVersion(160004)).toBe('16.0');
    expect(odooPgVersion(150010)).toBe('15.0');
    expect(odooPgVersion(120022)).toBe('12.0');
    expect(odooPgVersion(90605)).toBe('9.6');
  });
});

describe('signed download links', () => {
  const key = Buffer.alloc(32, 1);
  const now = new Date('2026-01-01T00:00:00Z');
  const grant = { backupId: randomUUID(), userId: randomUUID(), expiresAt: now.getTime() / 1000 + 900 };

  it('accept what they were made for until they expire', () => {
    const token = signDownloadLink(key, grant);
    expect(checkDownloadLink(key, token, now)).toEqual({ ok: true, grant });
    expect(checkDownloadLink(key, token, new Date(now.getTime() + 899_000)).ok).toBe(true);
    expect(checkDownloadLink(key, token, new Date(now.getTime() + 900_000))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuse another key, a changed payload or signature, and garbage', () => {
    const token = signDownloadLink(key, grant);
    const [payload, signature] = token.split('.') as [string, string];
    expect(checkDownloadLink(Buffer.alloc(32, 2), token, now)).toEqual({ ok: false, reason: 'tampered' });
    const other = Buffer.from(JSON.stringify({ b: randomUUID(), u: grant.userId, e: grant.expiresAt })).toString('base64url');
    expect(checkDownloadLink(key, `${other}.${signature}`, now)).toEqual({ ok: false, reason: 'tampered' });
    expect(checkDownloadLink(key, `${payload}.${signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`, now)).toEqual({
      ok: false,
      reason: 'tampered',
    });
    for (const garbage of ['', 'abc', 'a.b.c', `${payload}.`]) expect(checkDownloadLink(key, garbage, now).ok).toBe(false);
  });
});
