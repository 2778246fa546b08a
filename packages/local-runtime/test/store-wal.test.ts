/**
 * The WAL file is bounded: `journal_size_limit` is set on the engine's connection, and once writes stop the
 * background checkpointer truncates the WAL to zero bytes (it grew to 83 MB beside a 58 MB database, and
 * stayed at 37 MB after everything was purged). Real files, real worker; the wait polls the file size.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore, WAL_SIZE_LIMIT_BYTES } from '../src/store/sqlite-store';

it('truncates the WAL once writes stop, and limits what a reset leaves', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-'));
  const file = path.join(dir, 'hub.db');
  const store = new SqliteStore(file);
  try {
    expect(store.database.pragma('journal_size_limit', { simple: true })).toBe(
      WAL_SIZE_LIMIT_BYTES,
    );
    const payload = 'x'.repeat(2048);
    for (let batch = 0; batch < 20; batch++) {
      store.transaction(() => {
        for (let i = 0; i < 200; i++) store.addInbox(`i-${batch}-${i}`, null, 'event', payload);
      });
    }
    const wal = `${file}-wal`;
    expect(fs.statSync(wal).size).toBeGreaterThan(4 * 1024 * 1024);
    // Idle now: the checkpointer (every 250 ms) copies the frames, sees no new ones, and truncates.
    const deadline = Date.now() + 10_000;
    while (fs.statSync(wal).size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(fs.statSync(wal).size).toBe(0);
    // Nothing was lost: the rows are in the database.
    expect(store.instancesWithInbox()).toHaveLength(4000);
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
