import { InvocationContext } from '@azure/functions';
import { createSendSmsChallenge } from '../../src/verification/activity';
import { maskPhoneNumber } from '../../src/verification/sms-sender';
import { InMemorySmsSender } from './helpers/in-memory';
import { UpstreamError } from '../../src/errors';
import { codeMatches, hashCode } from '../../src/verification/codes';

const SECRET = 'activity-test-secret-0123456789';
const INPUT = { phoneNumber: '+14255550100', instanceId: 'abc123', codeLength: 6 };

function context(logs: string[]): InvocationContext {
  return new InvocationContext({
    functionName: 'SendSmsChallenge',
    logHandler: (_level, ...args) => logs.push(args.map(String).join(' ')),
  });
}

describe('SendSmsChallenge activity', () => {
  it('texts a fresh code and returns only its HMAC, bound to the instance', async () => {
    const sms = new InMemorySmsSender();
    const digits = [0, 4, 2, 1, 6, 8];
    const logs: string[] = [];
    const activity = createSendSmsChallenge({
      sms,
      codeSecret: SECRET,
      messageTemplate: 'Your verification code is {code}',
      random: () => digits.shift()!,
    });

    const result = await activity(INPUT, context(logs));

    expect(sms.sent).toEqual([{ to: '+14255550100', body: 'Your verification code is 042168' }]);
    expect(result).toBe(hashCode(SECRET, 'abc123', '042168'));
    expect(codeMatches(SECRET, 'abc123', result, 42168, 6)).toBe(true);
    expect(result).not.toContain('042168');
    expect(logs.join('\n')).not.toContain('042168');
    expect(logs.join('\n')).not.toContain('+14255550100');
    expect(logs.join('\n')).toContain(maskPhoneNumber('+14255550100'));
  });

  it('uses crypto.randomInt by default and the configured template and length', async () => {
    const sms = new InMemorySmsSender();
    const activity = createSendSmsChallenge({
      sms,
      codeSecret: SECRET,
      messageTemplate: 'Code {code}.',
    });
    const result = await activity({ ...INPUT, codeLength: 8 }, context([]));
    const code = /^Code (\d{8})\.$/.exec(sms.sent[0]!.body)?.[1];
    expect(code).toBeDefined();
    expect(result).toBe(hashCode(SECRET, 'abc123', code!));
  });

  it('propagates sender failures without the code in the error', async () => {
    const sms = new InMemorySmsSender();
    sms.failWith(
      new UpstreamError('twilio', 'Twilio rejected the message (Twilio error 21211).', 400),
    );
    const activity = createSendSmsChallenge({
      sms,
      codeSecret: SECRET,
      messageTemplate: '{code}',
      random: () => 7,
    });
    await expect(activity(INPUT, context([]))).rejects.toThrow(
      'Twilio rejected the message (Twilio error 21211).',
    );
    await expect(activity(INPUT, context([]))).rejects.not.toThrow('777777');
  });

  it('rejects inputs the orchestrator never sends', async () => {
    const activity = createSendSmsChallenge({
      sms: new InMemorySmsSender(),
      codeSecret: SECRET,
      messageTemplate: '{code}',
    });
    await expect(activity('+14255550100', context([]))).rejects.toThrow(TypeError);
    await expect(activity({ ...INPUT, phoneNumber: '555' }, context([]))).rejects.toThrow('E.164');
    await expect(activity({ ...INPUT, instanceId: '' }, context([]))).rejects.toThrow('instanceId');
    await expect(activity({ ...INPUT, codeLength: 3 }, context([]))).rejects.toThrow('codeLength');
  });

  it('masks phone numbers for logs', () => {
    expect(maskPhoneNumber('+14255550100')).toBe('+1******0100');
    expect(maskPhoneNumber('+123')).toBe('***');
  });
});
