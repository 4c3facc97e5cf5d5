/** Progress events of a run, for a terminal display. */
export type GatherEvent =
  | { type: 'collection-start'; key: string; since: Date; until: Date; slice?: number }
  | { type: 'collection-end'; key: string; status: 'ok' | 'failed' | 'empty'; bytes: number; error?: string }
  | { type: 'tarball-written'; path: string; bytes: number }
  | { type: 'tarball-shipped'; path: string; ok: boolean; requestId?: string; error?: string };
