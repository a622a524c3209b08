import { describe, expect, it } from 'vitest';
import { findUnstorableText, storableText } from '../../src/api/text-guard.js';

describe('findUnstorableText', () => {
  it('finds NUL and unpaired surrogates and says where', () => {
    expect(findUnstorableText({ name: 'a\u0000b' })).toEqual(['name']);
    expect(findUnstorableText({ limits: { note: 'x\uD800' } })).toEqual(['limits', 'note']);
    expect(findUnstorableText({ prices: [{ currency: 'ok' }, { currency: '\uDC00' }] })).toEqual(['prices', '1', 'currency']);
    expect(findUnstorableText('\u0000')).toEqual([]);
  });

  it('accepts ordinary and astral text, numbers, nulls and empty structures', () => {
    expect(findUnstorableText({ name: 'Zoë 😀 שלום \u202E', n: 1, b: true, z: null, list: [], o: {} })).toBeUndefined();
    expect(findUnstorableText(undefined)).toBeUndefined();
  });

  it('handles structures far deeper than the call stack allows', () => {
    let value: unknown = 'bottom\u0000';
    for (let i = 0; i < 200_000; i++) value = { a: value };
    const path = findUnstorableText(value);
    expect(path).toHaveLength(200_000);
    expect(path?.every((key) => key === 'a')).toBe(true);
  });

  it('storableText replaces what PostgreSQL cannot store and keeps the rest', () => {
    expect(storableText('a\u0000b\uD800c😀')).toBe('a\uFFFDb\uFFFDc😀');
  });
});
