// The registry folder's public surface: other modules import from here, not from its files.

export { Catalog, LATEST, type CatalogEntry } from './catalog.js';
export { versionDigest } from './deploy.js';
export { Registry, type DeployResult, type FunctionListener, type RegistryOptions } from './registry.js';
