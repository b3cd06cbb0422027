/** Public API of the Hugging Face Hub layer. */
export * from './repo-spec';
export { resolveHubConfig, publicError } from './hub-config';
export type { HubConfig, HubConfigOptions, TokenSource } from './hub-config';
export { RepoCache, blobId, repoFolderName } from './cache';
export type { RepoFile } from './cache';
export { HubRepo, coalesceRanges } from './hub-repo';
export type { HubRepoOptions, ProgressEvent } from './hub-repo';
export * from './fetch-plan';
export * from './remote-checkpoint';
export * from './publish';
export * from './progress';
