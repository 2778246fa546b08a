import { InvocationContext } from '@azure/functions';
import {
  createGetVerificationRules,
  createSendSmsChallenge,
} from '../../src/verification/activity';
import { maskPhoneNumber } from '../../src/redact';
import { InMemorySmsSender } from './helpers/in-memory';
import { UpstreamError } from '../../src/errors';
import { createVerificationCrypto } from '../../src/verification/crypto';
import { hashCode } from '../../src/verification/crypto/code-hash';
import { deriveCode } from '../../src/verification/crypto/derived-code';
import type { VerificationRules } from '../../src/verification/rules';

const SECRET = 'activity-test-secret-0123456789';
const INPUT = { phoneNumber: '+14255550100', instanceId: 'abc123', codeLength: 6, sendNumber: 1 };
const TEMPLATES = { overrides: {} };
const RULES = { timeoutSeconds: 90, maxAttempts: 4, codeLength: 8 };

function context(logs: string[]): InvocationContext {
  return new InvocationContext({
    functionName: 'SendSmsChallenge',
    logHandler: (_level, ...args) => logs.push(args.map(String).join(' ')),
  });
}

function activity(
  sms: InMemorySmsSender,
  messageTemplate = 'Your verification code is {code}',
  rules: () => VerificationRules = () => RULES,
) {
  return createSendSmsChallenge({
    rules,
    sms,
    crypto: createVerificationCrypto(SECRET),
    messageTemplate,
    templates: TEMPLATES,
  });
}

describe('SendSmsChallenge activity', () => {
  it('texts the derived code of this send and returns only its HMAC, bound to the instance', async () => {
    const sms = new InMemorySmsSender();
    const logs: string[] = [];
    const result = await activity(sms)(INPUT, context(logs));
    const code = deriveCode(SECRET, 'abc123', 1, 6);
    expect(sms.sent).toEqual([{ to: '+14255550100', body: `Your verification code is ${code}` }]);
    expect(result).toBe(hashCode(SECRET, 'abc123', code));
    expect(result).not.toContain(code);
    expect(logs.join('\n')).not.toContain(code);
    expect(logs.join('\n')).not.toContain('+14255550100');
    expect(logs.join('\n')).toContain(maskPhoneNumber('+14255550100'));
  });

  it('regression: a re-run of the same send texts the same code; the next send a new one', async () => {
    const sms = new InMemorySmsSender();
    const first = await activity(sms)(INPUT, context([]));
    const rerun = await activity(sms)(INPUT, context([]));
    const resend = await activity(sms)({ ...INPUT, sendNumber: 2 }, context([]));
    expect(sms.sent[0]!.body).toBe(sms.sent[1]!.body);
    expect(rerun).toBe(first);
    expect(sms.sent[2]!.body).not.toBe(sms.sent[0]!.body);
    expect(resend).not.toBe(first);
  });

  it('uses the configured template and length, and the locale template when asked', async () => {
    const sms = new InMemorySmsSender();
    const result = await activity(sms, 'Code {code}.')({ ...INPUT, codeLength: 8 }, context([]));
    const code = /^Code (\d{8})\.$/.exec(sms.sent[0]!.body)?.[1];
    expect(code).toBeDefined();
    expect(result).toBe(hashCode(SECRET, 'abc123', code!));
    await activity(sms)({ ...INPUT, locale: 'fr-CA' }, context([]));
    expect(sms.sent[1]!.body).toMatch(/^Votre code de vérification est \d{6}$/);
  });

  it('propagates sender failures without the code in the error', async () => {
    const sms = new InMemorySmsSender();
    sms.failWith(
      new UpstreamError('twilio', 'Twilio rejected the message (Twilio error 21211).', 400),
    );
    const code = deriveCode(SECRET, 'abc123', 1, 6);
    await expect(activity(sms)(INPUT, context([]))).rejects.toThrow(
      'Twilio rejected the message (Twilio error 21211).',
    );
    await expect(activity(sms)(INPUT, context([]))).rejects.not.toThrow(code);
  });

  it('rejects inputs the orchestrator never sends', async () => {
    const run = activity(new InMemorySmsSender());
    await expect(run('+14255550100', context([]))).rejects.toThrow(TypeError);
    await expect(run({ ...INPUT, phoneNumber: '555' }, context([]))).rejects.toThrow('E.164');
    await expect(run({ ...INPUT, instanceId: '' }, context([]))).rejects.toThrow('instanceId');
    await expect(run({ ...INPUT, codeLength: 3 }, context([]))).rejects.toThrow('codeLength');
    await expect(run({ ...INPUT, sendNumber: 0 }, context([]))).rejects.toThrow('sendNumber');
  });

  it('first send (no code length): texts a code of the configured length and returns the rules with its hash', async () => {
    const sms = new InMemorySmsSender();
    const { codeLength: _given, ...first } = INPUT;
    const settings = () => ({ ...RULES, codeSecret: 'not-for-history' });
    const result = await activity(sms, 'Code {code}.', settings)(first, context([]));
    const code = deriveCode(SECRET, 'abc123', 1, RULES.codeLength);
    expect(sms.sent).toEqual([{ to: '+14255550100', body: `Code ${code}.` }]);
    expect(result).toEqual({ challengeHash: hashCode(SECRET, 'abc123', code), rules: RULES });
    expect(JSON.stringify(result)).not.toContain(code);
  });

  it('first send: settings outside the allowed ranges send nothing', async () => {
    const sms = new InMemorySmsSender();
    const { codeLength: _given, ...first } = INPUT;
    const wide = activity(sms, undefined, () => ({ ...RULES, maxAttempts: 10_000 }));
    await expect(wide(first, context([]))).rejects.toThrow('outside the allowed ranges');
    expect(sms.sent).toEqual([]);
  });

  it('masks phone numbers for logs', () => {
    expect(maskPhoneNumber('+14255550100')).toBe('+1******0100');
    expect(maskPhoneNumber('+123')).toBe('***');
  });
});

describe('GetVerificationRules activity', () => {
  it('returns exactly the three rules from the settings, nothing else of them', () => {
    const rules = createGetVerificationRules(() => ({
      timeoutSeconds: 90,
      maxAttempts: 4,
      codeLength: 6,
      codeSecret: 'not-for-history',
    }));
    expect(rules()).toEqual({ timeoutSeconds: 90, maxAttempts: 4, codeLength: 6 });
  });
});
