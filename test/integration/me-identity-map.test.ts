import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startAzuriteTable } from '@local/emulators/azurite';
import { connectionStringStorage, useSuiteAzurite } from '../helpers/azurite';
import { TableIdentityMapStore } from '../../src/me/identity-map-table';
import type { AcsIdentityMapping } from '../../src/me/identity-map';

const azurite = useSuiteAzurite();

let tableCounter = 0;
function freshStore(): TableIdentityMapStore {
  tableCounter += 1;
  return TableIdentityMapStore.create(
    connectionStringStorage(azurite().connectionString),
    `IdentityMap${tableCounter}`,
  );
}

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const USER_A = '00000000-0000-0000-0000-00000000000a';
const USER_B = '00000000-0000-0000-0000-00000000000b';

function mapping(objectId: string, communicationUserId: string): AcsIdentityMapping {
  return { tenantId: TENANT, objectId, communicationUserId, createdAt: '2026-01-01T00:00:00.000Z' };
}

describe('TableIdentityMapStore on Azurite', () => {
  it('creates the table on first use and round-trips a mapping keyed by tenant and object id', async () => {
    const store = freshStore();
    await expect(store.get({ tenantId: TENANT, objectId: USER_A })).resolves.toBeUndefined();
    const result = await store.insertIfAbsent(mapping(USER_A, '8:acs:r_a1'));
    expect(result.created).toBe(true);
    await expect(store.get({ tenantId: TENANT, objectId: USER_A })).resolves.toEqual(
      mapping(USER_A, '8:acs:r_a1'),
    );
    await expect(store.get({ tenantId: TENANT, objectId: USER_B })).resolves.toBeUndefined();
    await expect(
      store.get({ tenantId: 'other-tenant', objectId: USER_A }),
    ).resolves.toBeUndefined();
  });

  it('lets exactly one of ten concurrent inserts win, and every caller sees the winner', async () => {
    const store = freshStore();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.insertIfAbsent(mapping(USER_A, `8:acs:r_${i}`))),
    );
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    const winnerId = winners[0]!.mapping.communicationUserId;
    expect(new Set(results.map((r) => r.mapping.communicationUserId))).toEqual(new Set([winnerId]));
    await expect(store.get({ tenantId: TENANT, objectId: USER_A })).resolves.toMatchObject({
      communicationUserId: winnerId,
    });
  });

  it('deletes only when the mapping still points at the given identity', async () => {
    const store = freshStore();
    await store.insertIfAbsent(mapping(USER_A, '8:acs:r_new'));
    await expect(store.delete({ tenantId: TENANT, objectId: USER_A }, '8:acs:r_old')).resolves.toBe(
      false,
    );
    await expect(store.get({ tenantId: TENANT, objectId: USER_A })).resolves.toBeDefined();
    await expect(store.delete({ tenantId: TENANT, objectId: USER_A }, '8:acs:r_new')).resolves.toBe(
      true,
    );
    await expect(store.get({ tenantId: TENANT, objectId: USER_A })).resolves.toBeUndefined();
    await expect(store.delete({ tenantId: TENANT, objectId: USER_A })).resolves.toBe(false);
  });

  it('reports an unreachable storage account as unavailable, without the account key', async () => {
    const port = azurite().port;
    const deadConnection = azurite().connectionString.replace(`:${port}/`, ':1/');
    const store = TableIdentityMapStore.create(
      connectionStringStorage(deadConnection),
      'Unreachable',
    );
    const error = await store.get({ tenantId: TENANT, objectId: USER_A }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_unavailable', status: 503 });
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('Eby8vdM02x');
  });

  it('keeps mappings across an Azurite restart when given a location (npm start)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'azurite-'));
    try {
      const first = await startAzuriteTable({ location: dir });
      await TableIdentityMapStore.create(
        connectionStringStorage(first.connectionString),
        'Persisted',
      ).insertIfAbsent(mapping(USER_A, '8:acs:r_kept'));
      await first.close();
      const second = await startAzuriteTable({ location: dir });
      try {
        const store = TableIdentityMapStore.create(
          connectionStringStorage(second.connectionString),
          'Persisted',
        );
        await expect(store.get({ tenantId: TENANT, objectId: USER_A })).resolves.toMatchObject({
          communicationUserId: '8:acs:r_kept',
        });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
