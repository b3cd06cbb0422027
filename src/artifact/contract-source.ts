/** How the contract names a source (its own file so the graft record and the contract share it without a cycle). */
export interface ContractSource {
  /** Hub repo id (`Qwen/Qwen3.6-27B`). */
  repo?: string;
  /** Commit the source was read at. */
  revision?: string;
  /** Local folder's base name, when the source was not a Hub repo (never the absolute path: it is published). */
  name?: string;
  /** Absolute local folder, as earlier mtpkit builds wrote it (read, never written). */
  path?: string;
}
