/** Log hooks: a hook that throws or rejects is reported, and the other hooks still run. */
import { runLogHooks } from '../src/host/worker';
import type { HookCallback } from '../src/host/core-api';

it('reports a log hook whose promise rejects instead of leaving the rejection unhandled', async () => {
  const failures: unknown[] = [];
  const rejecting: HookCallback = async () => {
    await Promise.resolve();
    throw new Error('hook broke');
  };
  const throwing: HookCallback = () => {
    throw new Error('hook threw');
  };
  const redacting: HookCallback = (context) => {
    context.message = String(context.message).replace(/\d/g, '#');
  };
  const context: Record<string, unknown> = { message: 'code 1234' };
  runLogHooks([rejecting, throwing, redacting], context, (_hook, error) => failures.push(error));
  expect(context.message).toBe('code ####');
  await new Promise((resolve) => setImmediate(resolve));
  expect(failures.map((e) => (e as Error).message).sort()).toEqual(['hook broke', 'hook threw']);
});
