// Benchmark fixture for the timer scenario of `npm run bench -- --baseline REF --timers N`.
// Plain CommonJS so that the baseline's and the candidate's hosts load the very same app.
const { app } = require('@azure/functions');
const df = require('durable-functions');

// Waits for one durable timer due at `input.fireAt`, then returns the replay clock of the episode
// that saw it fire: output - fireAt is how late the timer was acted on.
df.app.orchestration('WaitUntil', function* (context) {
  yield context.df.createTimer(new Date(context.df.getInput().fireAt));
  return context.df.currentUtcDateTime.toISOString();
});

/** `POST /api/{route}` starts `orchestration` with the input `toInput` picks from the JSON body. */
function starter(name, route, orchestration, toInput) {
  app.http(name, {
    route,
    methods: ['POST'],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: async (request, context) => {
      const input = toInput(await request.json());
      const id = await df.getClient(context).startNew(orchestration, { input });
      return { status: 202, jsonBody: { id } };
    },
  });
}

starter('StartWaitUntil', 'wait-until', 'WaitUntil', (body) => ({ fireAt: body.fireAt }));

// For the long-history scenario: `fanOut` activities at once (two history events each), then
// `sequential` more one after another; every episode after the fan-out replays the whole history.
df.app.activity('Echo', { handler: (n) => n });

df.app.orchestration('LongHistory', function* (context) {
  const { fanOut, sequential } = context.df.getInput();
  const calls = Array.from({ length: fanOut }, (_, i) => context.df.callActivity('Echo', i));
  yield context.df.Task.all(calls);
  context.df.setCustomStatus('sequential');
  for (let i = 0; i < sequential; i++) yield context.df.callActivity('Echo', i);
  return true;
});

starter('StartLongHistory', 'long-history', 'LongHistory', (body) => ({
  fanOut: body.fanOut,
  sequential: body.sequential,
}));
