import { createPurgeExpiredVerifications } from '../../src/verification/retention';
import { FakeDurableClient, invocation } from './helpers/fakes';

/** The timer's function with a 24-hour retention, a fake durable client and a process clock at 2026-11-22 10:00. */
function purgeWith24HourRetention() {
  const client = new FakeDurableClient();
  const purge = createPurgeExpiredVerifications({
    getClient: () => client,
    retentionHours: () => 24,
    now: () => new Date('2026-11-22T10:00:00.000Z'),
  });
  return { client, purge };
}

describe('the retention timer', () => {
  it('purges finished verifications created more than the retention ago, and only those', async () => {
    const { client, purge } = purgeWith24HourRetention();
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

  it("takes the run's time from the trigger (the host's clock), not the process clock", async () => {
    const { client, purge } = purgeWith24HourRetention();
    const timer = {
      isPastDue: false,
      schedule: { adjustForDST: true },
      scheduleStatus: {
        last: '2031-03-01T08:17:00.000Z',
        next: '2031-03-01T10:17:00.000Z',
        lastUpdated: '2031-03-01T09:17:00.000Z',
      },
    };
    await purge(timer, invocation([]));
    expect(client.purgeFilters[0]?.createdTimeTo).toEqual(new Date('2031-02-28T09:17:00.000Z'));
  });
});
