import { describe, expect, it } from 'vitest';
import { badForceCold, parseForceCold } from './force-cold.js';

describe('X-Hearth-Force-Cold', () => {
  it('absent or false: no; true: a fresh instance; scratch: one from scratch; anything else: refused', () => {
    expect(['', 'false', 'true', 'scratch', 'TRUE', 'reserve', '1'].map(parseForceCold)).toEqual(['no', 'no', 'fresh', 'scratch', null, null, null]);
    expect(badForceCold('x'.repeat(100))).toMatchObject({ status: 400, type: 'InvalidRequestContent' });
  });
});
