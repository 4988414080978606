// Runs one Step Functions execution with aws-local-stepfunctions and prints, one JSON line each, its
// events as they happen and then its outcome. The request (definition, input, context, overrides,
// module path) arrives on stdin; Task states call Lambda through the SDK client, which follows
// AWS_ENDPOINT_URL_LAMBDA.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const req = JSON.parse(readFileSync(0, 'utf8'));
const { StateMachine } = await import(pathToFileURL(req.module).href);
const machine = new StateMachine(req.definition, {
  awsConfig: { region: req.region, credentials: { accessKeys: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } } },
});

// Every Task state invokes its function here rather than through the library's own client, so that
// a failed call carries the error name Step Functions gives it: Lambda.<Exception> when Lambda
// answered with an error (Lambda.ServiceException, Lambda.TooManyRequestsException, ...),
// Lambda.SdkClientException when it could not be reached, and the function's errorType when the
// function failed. The library would name the first two after the JavaScript SDK's classes, which
// no Retry of a real definition matches.
const sdk = await import(pathToFileURL(createRequire(req.module).resolve('@aws-sdk/client-lambda')).href);
const lambda = new sdk.LambdaClient({
  region: req.region, credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' }, maxAttempts: 1,
});
const failure = (name, message) => Object.assign(new Error(message), { name });
const invoke = (resource) => async (input) => {
  let res;
  try {
    res = await lambda.send(new sdk.InvokeCommand({ FunctionName: resource, Payload: new TextEncoder().encode(JSON.stringify(input)) }));
  } catch (e) {
    const answered = e.$metadata?.httpStatusCode !== undefined && e.$fault !== undefined;
    throw failure(answered ? `Lambda.${e.name}` : 'Lambda.SdkClientException', e.message || String(e));
  }
  const payload = res.Payload ? JSON.parse(new TextDecoder().decode(res.Payload)) : null;
  if (res.FunctionError) {
    throw failure(payload?.errorType ?? 'Lambda.Unknown', `${payload?.errorType}: ${payload?.errorMessage}`);
  }
  return payload;
};
const handlers = {};
const collectTasks = (states) => {
  for (const [name, st] of Object.entries(states ?? {})) {
    if (st.Type === 'Task') handlers[name] = invoke(st.Resource);
    for (const b of st.Branches ?? []) collectTasks(b.States);
    if (st.Iterator) collectTasks(st.Iterator.States);
    if (st.ItemProcessor) collectTasks(st.ItemProcessor.States);
  }
};
collectTasks(req.definition.States);
const execution = machine.run(req.input, {
  overrides: { ...req.overrides, taskResourceLocalHandlers: handlers }, context: req.context,
});
// Each event is printed as it happens, one JSON line ({"event": ...}), so that a caller sees the
// states entered even when the run is killed; the outcome is the last line ({"result": ...}).
const emit = (line) => process.stdout.write(JSON.stringify(line) + '\n');
const events = [];
const collect = (async () => {
  for await (const ev of execution.eventLogs) {
    events.push(ev);
    emit({ event: {
      type: ev.type,
      timestamp: ev.timestamp,
      state: ev.state?.name,
      stateType: ev.state?.type,
      error: ev.Error,
      cause: ev.Cause === undefined ? undefined : (typeof ev.Cause === 'string' ? ev.Cause : JSON.stringify(ev.Cause)),
      retryAttempt: ev.retry?.attempt,
    } });
  }
})();
const out = {};
try {
  out.output = await execution.result;
} catch (e) {
  out.error = e.name || 'Error';
  out.cause = e.message || String(e);
}
await collect;
for (const ev of events) {
  if (ev.type === 'ExecutionFailed') {
    out.error = ev.Error;
    out.cause = typeof ev.Cause === 'string' ? ev.Cause : JSON.stringify(ev.Cause);
  }
}
emit({ result: out });
