import { getSharedSidecarClient, sharedSidecarDispatcher } from '../../src/me/sidecar';
import { ConfigError } from '../../src/errors';

describe('getSharedSidecarClient', () => {
  it('returns one client per setting set, all on the process-wide keep-alive pool', () => {
    const a = getSharedSidecarClient({ url: 'http://localhost:5000/', timeoutMs: 1234 });
    const b = getSharedSidecarClient({ url: 'http://localhost:5000/', timeoutMs: 1234 });
    const c = getSharedSidecarClient({ url: 'http://localhost:5001/' });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(a.timeoutMs).toBe(1234);
    expect(c.timeoutMs).toBe(10_000);
    expect(sharedSidecarDispatcher()).toBe(sharedSidecarDispatcher());
  });

  it('applies the loopback rule to the settings', () => {
    expect(() => getSharedSidecarClient({ url: 'http://sidecar.internal:5000' })).toThrow(
      ConfigError,
    );
    expect(
      getSharedSidecarClient({ url: 'http://sidecar.internal:5000', allowNonLoopback: true })
        .baseUrl.host,
    ).toBe('sidecar.internal:5000');
  });
});
