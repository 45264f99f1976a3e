import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, MAX_PIXELS, checkLimit, resolveLimits } from '../src/bitstream/limits.js';
import { InvalidOptionError, LimitExceededError } from '../src/errors.js';

describe('limits', () => {
  it('uses the same pixel budget as sharp', () => {
    expect(MAX_PIXELS).toBe(0x3fff * 0x3fff);
    expect(DEFAULT_LIMITS.maxPixels).toBe(MAX_PIXELS);
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
  });

  it('checkLimit passes at the limit and throws a typed error above it', () => {
    expect(() => checkLimit('maxUnits', 10, 10)).not.toThrow();
    const err = (() => {
      try {
        checkLimit('maxUnits', 11, 10);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED', limit: 'maxUnits', value: 11, max: 10 });
    expect((err as Error).message).toBe('maxUnits is 11, above the limit of 10');
  });

  it('merges tighter limits over the defaults', () => {
    const limits = resolveLimits({ maxUnits: 3, maxPixels: 100 });
    expect(limits).toEqual({ ...DEFAULT_LIMITS, maxUnits: 3, maxPixels: 100 });
    expect(resolveLimits()).toBe(DEFAULT_LIMITS);
    expect(resolveLimits({ maxFrames: undefined })).toEqual(DEFAULT_LIMITS);
  });

  it('rejects looser, negative, fractional and unknown limits', () => {
    expect(() => resolveLimits({ maxPixels: MAX_PIXELS + 1 })).toThrow(InvalidOptionError);
    expect(() => resolveLimits({ maxUnits: -1 })).toThrow(InvalidOptionError);
    expect(() => resolveLimits({ maxUnits: 1.5 })).toThrow(InvalidOptionError);
    expect(() => resolveLimits({ maxUnits: '3' as unknown as number })).toThrow(InvalidOptionError);
    expect(() => resolveLimits({ maxBogus: 1 } as unknown as Record<string, number>)).toThrow(/limits key/);
    expect(() => resolveLimits(5 as unknown as Record<string, number>)).toThrow(InvalidOptionError);
  });
});
