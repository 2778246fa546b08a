import { createPurgeExpiredVerifications } from '../../src/verification/retention';
import { FakeDurableClient, invocation } from './helpers/fakes';

describe('the retention timer', () => {
  it('purges finished verifications created more than the retention ago, and only those', async () => {
    const client = new FakeDurableClient();
    const purge = createPurgeExpiredVerifications({
      getClient: () => client,
      retentionHours: () => 24,
      now: () => new Date('2026-11-22T10:00:00.000Z'),
    });
    const logs: string[] = [];
    await purge({}, invocation(logs));
    expect(client.purgeFilters).toEqual([
      {
        createdTimeFrom: new Date(0),
        createdTimeTo: new Date('2026-11-21T10:00:00.000Z'),
        runtimeStatus: ['Completed', 'Failed', 'Terminated', 'Canceled'],
      },
    ]);
    expect(logs.join('\n')).toContain('purged 0 verifications');
  });
});
