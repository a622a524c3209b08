import { describe, expect, it } from 'vitest';
import { judgeCertificate } from '../../src/domains/index.js';

const now = new Date('2026-12-07T12:00:00Z');
const DAY = 86_400_000;
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);

describe('judging the certificate the edge presents', () => {
  it('is unknown until checked', () => {
    expect(judgeCertificate({ validFrom: null, expiresAt: null, error: null, checkedAt: null }, now)).toEqual({
      health: 'unknown',
      daysLeft: null,
    });
  });

  it('is failing without a certificate, or with one for another name', () => {
    expect(judgeCertificate({ validFrom: null, expiresAt: null, error: 'refused', checkedAt: now }, now)).toEqual({
      health: 'failing',
      daysLeft: null,
    });
    expect(judgeCertificate({ validFrom: at(-10 * DAY), expiresAt: at(80 * DAY), error: 'other name', checkedAt: now }, now)).toEqual({
      health: 'failing',
      daysLeft: 80,
    });
  });

  it("warns with under a sixth of a Let's Encrypt certificate's 90 days left", () => {
    const judge = (daysLeft: number) =>
      judgeCertificate({ validFrom: at((daysLeft - 90) * DAY), expiresAt: at(daysLeft * DAY), error: null, checkedAt: now }, now).health;
    expect([judge(60), judge(30), judge(15.01), judge(14.99), judge(1)]).toEqual(['valid', 'valid', 'valid', 'expiring', 'expiring']);
  });

  it("judges a short-lived certificate (Caddy's internal CA: 12 hours) by its own lifetime", () => {
    const judge = (hoursLeft: number) =>
      judgeCertificate(
        { validFrom: at((hoursLeft - 12) * 3_600_000), expiresAt: at(hoursLeft * 3_600_000), error: null, checkedAt: now },
        now,
      );
    expect(judge(11)).toEqual({ health: 'valid', daysLeft: 0 });
    expect(judge(1.9).health).toBe('expiring');
  });

  it('is expired once past its end, whatever else was seen', () => {
    expect(
      judgeCertificate({ validFrom: at(-91 * DAY), expiresAt: at(-DAY), error: 'certificate has expired', checkedAt: now }, now),
    ).toEqual({
      health: 'expired',
      daysLeft: -1,
    });
  });

  it('assumes a 90-day lifetime when the start is unknown', () => {
    expect(judgeCertificate({ validFrom: null, expiresAt: at(20 * DAY), error: null, checkedAt: now }, now).health).toBe('valid');
    expect(judgeCertificate({ validFrom: null, expiresAt: at(10 * DAY), error: null, checkedAt: now }, now).health).toBe('expiring');
  });
});
