// The lifecycle table, walked completely: every state × event, what can be reached, and the
// diagrams (in lifecycle.ts and ARCHITECTURE.md) checked against the table.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InstanceState, LIFECYCLE, lifecycleDiagram, nextState, transition, type LifecycleEvent } from './lifecycle.js';

const STATES = Object.values(InstanceState);
const EVENTS: LifecycleEvent[] = ['specialize', 'ready', 'acquire', 'release', 'retire', 'reviveIdle', 'reviveBusy', 'break', 'dispose'];

/** Every move, written out once more by hand: the table must say exactly this. */
const EXPECTED: Record<string, string> = {
  'prewarmed specialize': 'initializing', 'prewarmed dispose': 'disposed',
  'initializing ready': 'idle', 'initializing break': 'broken', 'initializing dispose': 'disposed',
  'idle acquire': 'busy', 'idle retire': 'draining', 'idle break': 'broken', 'idle dispose': 'disposed',
  'busy acquire': 'busy', 'busy release': 'idle', 'busy retire': 'draining', 'busy break': 'broken', 'busy dispose': 'disposed',
  'draining acquire': 'draining', 'draining reviveIdle': 'idle', 'draining reviveBusy': 'busy', 'draining break': 'broken', 'draining dispose': 'disposed',
  'broken dispose': 'disposed',
};

describe('instance lifecycle', () => {
  it('has exactly the expected move for every state and event, and transition() follows it or throws', () => {
    for (const state of STATES) {
      for (const event of EVENTS) {
        const want = EXPECTED[`${state} ${event}`] ?? null;
        expect(nextState(state, event), `${state} on ${event}`).toBe(want);
        const inst = { id: 't', state };
        if (want === null) {
          expect(() => transition(inst, event)).toThrow(`no transition from ${state} on ${event}`);
          expect(inst.state).toBe(state);
        } else {
          expect(transition(inst, event)).toBe(want);
          expect(inst.state).toBe(want);
        }
      }
    }
    // No event outside the list above.
    for (const state of STATES) for (const event of Object.keys(LIFECYCLE[state])) expect(EVENTS).toContain(event);
  });

  it('every state is reached from prewarmed, and every state but disposed can be torn down', () => {
    const seen = new Set<string>(['prewarmed']);
    for (let grew = true; grew;) {
      grew = false;
      for (const s of [...seen]) for (const to of Object.values(LIFECYCLE[s as InstanceState])) if (!seen.has(to)) { seen.add(to); grew = true; }
    }
    expect([...seen].sort()).toEqual([...STATES].sort());
    for (const s of STATES) if (s !== 'disposed') expect(nextState(s, 'dispose')).toBe('disposed');
    expect(Object.keys(LIFECYCLE.disposed)).toEqual([]);
  });

  it('the diagram in lifecycle.ts and in ARCHITECTURE.md is the table', () => {
    const lines = lifecycleDiagram();
    expect(lines).toHaveLength(Object.keys(EXPECTED).length);
    const source = readFileSync(new URL('./lifecycle.ts', import.meta.url), 'utf8');
    const inSource = source.split('\n').filter((l) => l.startsWith('//   ') && l.includes('──▶')).map((l) => l.slice(5));
    expect(inSource).toEqual(lines);
    const arch = readFileSync(new URL('../ARCHITECTURE.md', import.meta.url), 'utf8');
    const block = /```text lifecycle\n([\s\S]*?)```/.exec(arch);
    expect(block, 'ARCHITECTURE.md has a ```text lifecycle block').not.toBeNull();
    expect(block![1]!.trim().split('\n')).toEqual(lines);
  });
});
