// workerd for the compatibility tests: the bench's starter (bench/workerd.ts), which both use.
export * from '../../bench/workerd.js';
