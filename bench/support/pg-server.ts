/**
 * What a bench on PostgreSQL records of the server it ran on, so that its figures say which settings they were
 * measured with (docs/operations.md, "PostgreSQL settings for a hub"): the settings that bear on a write-heavy
 * load, and the WAL written and checkpoints taken during the run. Both are the whole cluster's: on a cluster that
 * other sessions write to, the WAL and checkpoints include theirs.
 */
import type { Db } from '../../src/store/db.port';

type Q = Pick<Db, 'query'>;

/** The server settings a bench's figures are labelled with (as PostgreSQL shows them, e.g. `128MB`, `5min`). */
export const LABELLED_SETTINGS = [
  'server_version',
  'shared_buffers',
  'max_wal_size',
  'checkpoint_timeout',
  'wal_compression',
  'wal_buffers',
] as const;

export type ServerSettings = Record<(typeof LABELLED_SETTINGS)[number], string>;

export async function serverSettings(db: Q): Promise<ServerSettings> {
  const { rows } = await db.query<{ name: string; value: string }>(
    'SELECT name, current_setting(name) AS value FROM unnest($1::text[]) AS name',
    [[...LABELLED_SETTINGS]],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.value])) as ServerSettings;
}

/** The cluster's WAL position and counters, and its checkpoints so far (`pg_stat_wal`; see `checkpointsSql`). */
export interface WalCounters {
  /** Bytes of WAL written since the cluster began (the current insert position). */
  walBytes: number;
  /** Full-page images written to the WAL (the first change of a page after a checkpoint). */
  fullPageImages: number;
  checkpoints: number;
}

/** Checkpoints so far: in `pg_stat_bgwriter` up to PostgreSQL 16, in `pg_stat_checkpointer` from 17. */
export function checkpointsSql(serverVersionNum: number): string {
  return serverVersionNum < 170000
    ? 'SELECT (checkpoints_timed + checkpoints_req)::text AS n FROM pg_stat_bgwriter'
    : 'SELECT (num_timed + num_requested)::text AS n FROM pg_stat_checkpointer';
}

export async function walCounters(db: Q): Promise<WalCounters> {
  const wal = (
    await db.query<{ bytes: string; fpi: string; version: string }>(
      `SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text AS bytes, wal_fpi::text AS fpi,
              current_setting('server_version_num') AS version
         FROM pg_stat_wal`,
    )
  ).rows[0];
  const checkpoints = (await db.query<{ n: string }>(checkpointsSql(Number(wal?.version ?? 0)))).rows[0];
  return {
    walBytes: Number(wal?.bytes ?? 0),
    fullPageImages: Number(wal?.fpi ?? 0),
    checkpoints: Number(checkpoints?.n ?? 0),
  };
}

/** The WAL a run wrote per message and the checkpoints taken during it, from the counters before and after. */
export function walPerMessage(
  before: WalCounters,
  after: WalCounters,
  messages: number,
): { walKbPerMsg: number; fullPageImagesPerMsg: number; checkpoints: number } {
  const per = (d: number) => (messages > 0 ? d / messages : 0);
  return {
    walKbPerMsg: Number(per((after.walBytes - before.walBytes) / 1024).toFixed(2)),
    fullPageImagesPerMsg: Number(per(after.fullPageImages - before.fullPageImages).toFixed(3)),
    checkpoints: after.checkpoints - before.checkpoints,
  };
}
