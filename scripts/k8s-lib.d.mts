// Types of scripts/k8s-lib.mjs (plain JavaScript so that `npm run k8s:render` runs without a build).

/** A Kubernetes object as rendered (parsed YAML). */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

export interface Target { name: string; dir: string }
export interface Render extends Target { objects: K8sObject[]; text: string }

export const ROOT: string;
export const K8S_DIR: string;
export const RENDERED_DIR: string;
export const KUSTOMIZE: { file: string; args: string[] } | null;
export function targets(): Target[];
export function goldenPath(name: string): string;
export function renderNpm(dir: string): Promise<string>;
export function findKubectl(): string | null;
export function renderKubectl(kubectl: string, dir: string): Promise<string>;
export function parseStream(text: string): K8sObject[];
export function objectKey(o: K8sObject): string;
export function sortObjects(objects: K8sObject[]): K8sObject[];
export function normalise(objects: K8sObject[], source: string): string;
export function modelFor(apiVersion: unknown, kind: unknown): Promise<unknown>;
export function validateObject(obj: unknown): Promise<string[]>;
export function renderAll(): Promise<Render[]>;
export function scalingMetrics(objects: K8sObject[]): string[];
