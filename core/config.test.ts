// Settings: defaults < config file < environment < flags, and errors that name the key and where
// its value came from.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, DEFAULTS, envName, flagName, loadConfig, SETTINGS } from './config.js';

function dirWith(file?: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-config-'));
  if (file !== undefined) writeFileSync(join(dir, 'hearth.config.json'), typeof file === 'string' ? file : JSON.stringify(file));
  return dir;
}

describe('loadConfig', () => {
  it('gives the defaults with nothing set', () => {
    const c = loadConfig({ env: {}, cwd: dirWith() });
    expect(c).toEqual(DEFAULTS);
    expect(c.port).toBe(8080);
  });

  it('takes the file, then the environment, then flags, each over the one before', () => {
    const cwd = dirWith({ port: 9001, prewarmIsolates: 7, drainTimeoutMs: 111, docker: false });
    const c = loadConfig({ cwd, env: { HEARTH_PORT: '9002', HEARTH_PREWARM_ISOLATES: '8' }, flags: { port: '9003' } });
    expect(c.port).toBe(9003); // flag over env over file
    expect(c.prewarmIsolates).toBe(8); // env over file
    expect(c.drainTimeoutMs).toBe(111); // file over default
    expect(c.docker).toBe(false);
    const envBool = loadConfig({ cwd, env: { HEARTH_DOCKER: 'true' } });
    expect(envBool.docker).toBe(true);
    expect(loadConfig({ cwd, env: { HEARTH_DOCKER: 'true' }, flags: { docker: false } }).docker).toBe(false);
  });

  it('reads an explicit file (flag or HEARTH_CONFIG) and resolves its relative paths against its folder', () => {
    const dir = dirWith();
    const file = join(dir, 'other.json');
    writeFileSync(file, JSON.stringify({ dataDir: 'data', functions: ['fns', '/abs/fns'] }));
    const c = loadConfig({ configFile: file, env: {}, cwd: '/' });
    expect(c.dataDir).toBe(join(dir, 'data'));
    expect(c.functions).toEqual([join(dir, 'fns'), '/abs/fns']);
    expect(loadConfig({ env: { HEARTH_CONFIG: file }, cwd: '/' }).dataDir).toBe(join(dir, 'data'));
    // The environment's and flags' paths stay as given (the process's cwd applies).
    expect(loadConfig({ configFile: file, env: { HEARTH_FUNCTIONS: 'a, b' }, cwd: '/' }).functions).toEqual(['a', 'b']);
  });

  it('names the key and the source of a bad value', () => {
    const cwd = dirWith({ port: 70000 });
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/port: .*65535.*\(from .*hearth\.config\.json = 70000\)/);
    expect(() => loadConfig({ cwd: dirWith(), env: { HEARTH_PORT: 'eighty' } })).toThrow(/port: .*expected number.*\(from HEARTH_PORT = "eighty"\)/);
    expect(() => loadConfig({ cwd: dirWith(), env: {}, flags: { drainTimeoutMs: '-5' } })).toThrow(/drainTimeoutMs: .*\(from --drain-timeout-ms = -5\)/);
    expect(() => loadConfig({ cwd: dirWith(), env: { HEARTH_LOG_LEVEL: 'loud' } })).toThrow(/logLevel: .*\(from HEARTH_LOG_LEVEL = "loud"\)/);
    expect(() => loadConfig({ cwd: dirWith(), env: { HEARTH_DOCKER: 'maybe' } })).toThrow(/docker: .*\(from HEARTH_DOCKER/);
  });

  it('takes the scale-down settings, and refuses a scale-down threshold that is not below the scale-up one', () => {
    const c = loadConfig({ cwd: dirWith(), env: { HEARTH_SCALE_DOWN_THRESHOLD: '0.3' }, flags: { scaleDownDelayMs: '250' } });
    expect([c.scaleUpThreshold, c.scaleDownThreshold, c.scaleDownDelayMs]).toEqual([0.8, 0.3, 250]);
    expect(() => loadConfig({ cwd: dirWith(), env: { HEARTH_SCALE_DOWN_THRESHOLD: '0.8' } }))
      .toThrow(/scaleDownThreshold: must be below scaleUpThreshold \(from HEARTH_SCALE_DOWN_THRESHOLD = 0\.8; scaleUpThreshold from the defaults = 0\.8\)/);
    expect(() => loadConfig({ cwd: dirWith(), env: {}, flags: { scaleUpThreshold: '0.4' } })).toThrow(/scaleDownThreshold: must be below scaleUpThreshold/);
  });

  it('refuses unknown keys in the file, a file that is not JSON or not an object, and a missing explicit file', () => {
    expect(() => loadConfig({ cwd: dirWith({ prot: 8080 }), env: {} })).toThrow(/Unrecognized key.*"prot"/);
    expect(() => loadConfig({ cwd: dirWith('{ port: 1 '), env: {} })).toThrow(/is not valid JSON/);
    expect(() => loadConfig({ cwd: dirWith('[1]'), env: {} })).toThrow(/must hold one JSON object/);
    expect(() => loadConfig({ configFile: '/nonexistent/hearth.json', env: {} })).toThrow(/cannot read the config file \/nonexistent\/hearth\.json: ENOENT/);
  });

  it('never echoes a token in an error', () => {
    let message = '';
    try {
      loadConfig({ cwd: dirWith(), env: { HEARTH_ADMIN_TOKEN: 'short-secret' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/adminToken: must be at least 16 characters \(from HEARTH_ADMIN_TOKEN\)/);
    expect(message).not.toContain('short-secret');
  });

  it('does not echo a queue URL, which may hold a password', () => {
    expect(() => loadConfig({ cwd: dirWith(), env: { HEARTH_QUEUE_URL: 'redis//user:hunter2@host' } })).toThrow(/queueUrl: must be a redis:\/\/ or rediss:\/\/ URL \(from HEARTH_QUEUE_URL\)$/);
  });

  it('refuses to listen beyond loopback without an admin token', () => {
    expect(() => loadConfig({ cwd: dirWith(), env: { HEARTH_HOST: '0.0.0.0' } })).toThrow(/refusing to listen on 0\.0\.0\.0 without an admin token/);
    expect(loadConfig({ cwd: dirWith(), env: { HEARTH_HOST: '0.0.0.0', HEARTH_ADMIN_TOKEN: 'x'.repeat(16) } }).host).toBe('0.0.0.0');
  });

  it('describes every key of the schema once, with its flag and environment name', () => {
    expect(SETTINGS.map((s) => s.key).sort()).toEqual(Object.keys(ConfigSchema.shape).sort());
    expect(flagName('containerMemoryBudgetMb')).toBe('--container-memory-budget-mb');
    expect(envName('containerMemoryBudgetMb')).toBe('HEARTH_CONTAINER_MEMORY_BUDGET_MB');
  });
});
