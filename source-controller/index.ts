/**
 * The source controller's public entry point: what code outside the controller
 * (the CLI, the apply controller's types, tools) may use — the API types and
 * resources of GitRepository and OCIRepository, and the OCI distribution client
 * with its reference, media-type and credential helpers. Everything else under
 * source-controller/ is internal; the lint rules in eslint.config.js keep it so.
 */
export * from './api.ts';
export * from './oci/index.ts';
