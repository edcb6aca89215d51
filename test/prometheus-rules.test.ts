// deploy/prometheus: the recording and alerting rules are valid (`promtool check rules`), their
// unit tests pass (`promtool test rules`), every metric a rule or a scaling rule in deploy/ names
// exists on a live Hearth's /metrics, and a real Prometheus scraping a live Hearth evaluates every
// rule without an error, each recording rule with a value.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, ROOT, startHearth, type Hearth } from './support/hearth.js';
import { promtool, startPrometheus, type PrometheusServer } from './support/prometheus.js';
import { until, waitFor } from './support/until.js';

const DEPLOY = join(ROOT, 'deploy');
const RULES = join(DEPLOY, 'prometheus');
const RULE_FILE = join(RULES, 'hearth.rules.yml');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every hearth_* metric name deploy/ mentions (rules, their tests, manifests, docs), with where. */
function namedMetrics(): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const file of filesUnder(DEPLOY)) {
    for (const [name] of readFileSync(file, 'utf8').matchAll(/\bhearth_[a-z0-9_]*[a-z0-9]/g)) {
      const where = names.get(name) ?? [];
      const rel = file.slice(ROOT.length + 1);
      if (!where.includes(rel)) where.push(rel);
      names.set(name, where);
    }
  }
  return names;
}

/** Metric names and types a /metrics text declares (`# TYPE name type`). */
function declared(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** A series name as the exposition has it: a histogram's _bucket/_sum/_count belong to its name. */
function exists(name: string, types: Map<string, string>): boolean {
  if (types.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && (types.get(base) === 'histogram' || types.get(base) === 'summary');
}

describe('Prometheus rules (promtool)', () => {
  it('`promtool check rules` accepts the rule file', () => {
    const r = promtool(['check', 'rules', 'hearth.rules.yml'], RULES);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.code).toBe(0);
  });

  it('`promtool test rules` passes the rules\' unit tests', () => {
    const r = promtool(['test', 'rules', 'hearth.rules.test.yml'], RULES);
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
  });
});

describe('the rules against a live Hearth', () => {
  let h: Hearth;
  let prom: PrometheusServer | undefined;
  beforeAll(async () => {
    h = await startHearth({ args: ['--no-docker', '--async-retry-base-ms', '20', '--async-retry-max-ms', '50'] });
    await deployOk(h, 'hello', jsSource('exports.handler = async (e) => ({ hello: e.name });'));
    await deployOk(h, 'throws', jsSource("exports.handler = async () => { throw new TypeError('boom'); };", { maxRetries: 0 }));
  });
  afterAll(async () => {
    await prom?.stop();
    await h?.stop();
  });

  const event = (fn: string) => fetch(`${h.url}/v1/functions/${fn}/invoke`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-hearth-invocation-type': 'Event' }, body: '{"name":"Ada"}',
  }).then((r) => expect(r.status).toBe(202));

  it('every metric deploy/ names exists on /metrics', async () => {
    expect((await h.invoke('hello', { name: 'Ada' })).status).toBe(200);
    await event('hello');
    await event('throws');
    const metrics = async () => (await fetch(`${h.url}/metrics`)).text();
    await until(async () => /^hearth_async_attempts_total\{function="throws",outcome="failed"\} 1$/m.test(await metrics()), 10_000, 'the failing event is a dead letter');
    const types = declared(await metrics());
    const named = namedMetrics();
    // Not vacuous: the scaling signals and the rules' inputs are among them.
    for (const n of ['hearth_invocations_in_flight', 'hearth_async_queue_events', 'hearth_invocations_total', 'hearth_invocation_duration_seconds_bucket', 'hearth_async_event_age_seconds_bucket', 'hearth_cold_starts_total']) {
      expect([...named.keys()]).toContain(n);
    }
    const missing = [...named].filter(([name]) => !exists(name, types)).map(([name, where]) => `${name} (${where.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('a real Prometheus scraping Hearth evaluates every rule without an error, each recording rule with a value', async () => {
    prom = await startPrometheus([`127.0.0.1:${h.port}`], [RULE_FILE]);
    const p = prom;
    interface Rule { name: string; type: 'recording' | 'alerting'; health: string; lastError?: string; query: string }
    const rules = async () => (await p.api<{ groups: { rules: Rule[] }[] }>('rules')).groups.flatMap((g) => g.rules);
    const all = await rules();
    expect(all.filter((r) => r.type === 'recording').length).toBeGreaterThanOrEqual(10);
    expect(all.filter((r) => r.type === 'alerting').length).toBeGreaterThanOrEqual(8);
    // Traffic while Prometheus watches: calls, failures, events, and a cold start (a function
    // deployed now), so every rate, ratio and quantile has something to work on.
    let late = 0;
    const traffic = async () => {
      await Promise.all([h.invoke('hello', { name: 'Ada' }), h.invoke('throws', {}), event('hello')]);
      await deployOk(h, `late${late}`, jsSource(`exports.handler = async () => (${late});`));
      expect((await h.invoke(`late${late++}`, {})).status).toBe(200);
    };
    const values = async () => {
      const out: Record<string, number[]> = {};
      for (const r of all.filter((x) => x.type === 'recording')) {
        const data = await p.api<{ result: { value: [number, string] }[] }>(`query?query=${encodeURIComponent(r.name)}`);
        out[r.name] = data.result.map((s) => Number(s.value[1]));
      }
      return out;
    };
    const seen = await waitFor(async () => {
      await traffic();
      const v = await values();
      return Object.values(v).every((list) => list.length > 0 && list.some(Number.isFinite)) ? v : undefined;
    }, 60_000, async () => `every recording rule with a finite value: ${JSON.stringify(await values())}`, 500);
    expect(seen['hearth:invocation_errors:ratio_rate5m']!.some((x) => x > 0)).toBe(true);
    expect(seen['hearth:async_queue_events:max']!.every((x) => x >= 0)).toBe(true);
    // Every rule, alerting ones included, evaluated without an error.
    await until(async () => (await rules()).every((r) => r.health === 'ok'), 10_000, async () => JSON.stringify((await rules()).filter((r) => r.health !== 'ok')));
  }, 120_000);
});
