import { createRequire } from 'node:module';

import type * as AltchaLib from 'altcha-lib' with { 'resolution-mode': 'import' };
import type * as AltchaSha from 'altcha-lib/algorithms/sha' with { 'resolution-mode': 'import' };

import { ManualClock } from '@local/durable-runtime';
import { ProofOfWork } from '../../src/verification/guard/proof-of-work';
import { InMemoryRowStore } from './helpers/in-memory';

const load = createRequire(__filename);
const { solveChallenge } = load('altcha-lib') as typeof AltchaLib;
const { deriveKey } = load('altcha-lib/algorithms/sha') as typeof AltchaSha;

const SECRET = 'unit-test-secret-0123456789abcdef';

function proofOfWork(enabled = true) {
  const clock = new ManualClock(new Date());
  const store = new InMemoryRowStore();
  const pow = new ProofOfWork({
    settings: { enabled, cost: 2000, expirySeconds: 300 },
    secret: () => SECRET,
    store: () => store,
    now: () => clock.now(),
  });
  return { pow, clock };
}

/** What a client does: solve the challenge, send base64(JSON {challenge, solution}). */
async function solved(pow: ProofOfWork): Promise<string> {
  const challenge = await pow.challenge();
  const solution = await solveChallenge({ challenge, deriveKey });
  if (solution === null) throw new Error('unsolved');
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
}

describe('ProofOfWork (ALTCHA)', () => {
  it('hands out signed SHA-256 challenges whose secret counter lies in [cost/2, cost]', async () => {
    const { pow } = proofOfWork();
    const challenge = await pow.challenge();
    expect(challenge.parameters.algorithm).toBe('SHA-256');
    expect(challenge.signature).toEqual(expect.any(String));
    const solution = await solveChallenge({ challenge, deriveKey });
    expect(solution?.counter).toBeGreaterThanOrEqual(1000);
    expect(solution?.counter).toBeLessThanOrEqual(2000);
  });

  it('accepts a solved challenge once', async () => {
    const { pow } = proofOfWork();
    const header = await solved(pow);
    await expect(pow.requireSolved(header)).resolves.toBeUndefined();
    await expect(pow.requireSolved(header)).rejects.toMatchObject({
      status: 403,
      reason: 'proof_of_work_required',
    });
  });

  it('refuses no header, junk, a wrong counter and a challenge signed by another secret', async () => {
    const { pow } = proofOfWork();
    for (const header of [null, '', 'not base64 json', Buffer.from('{}').toString('base64')]) {
      await expect(pow.requireSolved(header)).rejects.toMatchObject({ status: 403 });
    }
    const challenge = await pow.challenge();
    const wrong = { challenge, solution: { counter: 1, derivedKey: '00' } };
    await expect(
      pow.requireSolved(Buffer.from(JSON.stringify(wrong)).toString('base64')),
    ).rejects.toMatchObject({ reason: 'proof_of_work_required' });
    const other = new ProofOfWork({
      settings: { enabled: true, cost: 2000, expirySeconds: 300 },
      secret: () => 'another-secret-0123456789abcdef',
      store: () => new InMemoryRowStore(),
      now: () => new Date(),
    });
    await expect(pow.requireSolved(await solved(other))).rejects.toMatchObject({ status: 403 });
  });

  it('refuses an expired challenge', async () => {
    const { pow } = proofOfWork();
    const challenge = await pow.challenge();
    const solution = await solveChallenge({ challenge, deriveKey });
    const header = Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
    // altcha-lib checks expiry against the wall clock: an expiry in the past is what it sees.
    const expired = {
      challenge: { ...challenge, parameters: { ...challenge.parameters, expiresAt: 1 } },
      solution,
    };
    await expect(
      pow.requireSolved(Buffer.from(JSON.stringify(expired)).toString('base64')),
    ).rejects.toMatchObject({ status: 403 });
    await expect(pow.requireSolved(header)).resolves.toBeUndefined();
  });

  it('is off by default: no challenge (404), every start passes', async () => {
    const { pow } = proofOfWork(false);
    await expect(pow.challenge()).rejects.toMatchObject({ status: 404 });
    await expect(pow.requireSolved(null)).resolves.toBeUndefined();
  });
});
