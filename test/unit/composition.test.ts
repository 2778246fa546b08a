import {
  describeStartupConfigProblem,
  getAcsIdentityService,
  getConfig,
  getSmsSender,
  resetComposition,
} from '../../src/composition';
import { ConfigError } from '../../src/domain/errors';
import { useEnv, validEnv } from './helpers/env';

describe('composition root', () => {
  let restore: () => void;
  afterEach(() => {
    restore();
    resetComposition();
  });

  it('builds dependencies lazily from the settings and memoises them', () => {
    restore = useEnv(validEnv());
    resetComposition();
    expect(describeStartupConfigProblem()).toBeUndefined();
    expect(getSmsSender()).toBe(getSmsSender());
    expect(getAcsIdentityService()).toBe(getAcsIdentityService());
    expect(getConfig()).toBe(getConfig());
  });

  it('reports bad settings by key only, and throws ConfigError on use instead of at import', () => {
    restore = useEnv(validEnv({ TwilioAuthToken: undefined, VERIFICATION_CODE_SECRET: 'tiny' }));
    resetComposition();
    const problem = describeStartupConfigProblem();
    expect(problem).toContain('TwilioAuthToken (required)');
    expect(problem).toContain('VERIFICATION_CODE_SECRET');
    expect(problem).not.toContain('tiny');
    expect(() => getSmsSender()).toThrow(ConfigError);
    expect(() => getAcsIdentityService()).toThrow(ConfigError);
  });
});
