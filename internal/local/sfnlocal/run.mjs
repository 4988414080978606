// Runs one Step Functions execution with aws-local-stepfunctions and prints the outcome as JSON.
// The request (definition, input, context, overrides, module path) arrives on stdin; Task states
// call Lambda through the SDK client, which follows AWS_ENDPOINT_URL_LAMBDA.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const req = JSON.parse(readFileSync(0, 'utf8'));
const { StateMachine } = await import(pathToFileURL(req.module).href);
const machine = new StateMachine(req.definition, {
  awsConfig: { region: req.region, credentials: { accessKeys: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } } },
});
const execution = machine.run(req.input, { overrides: req.overrides, context: req.context });
const events = [];
const collect = (async () => {
  for await (const ev of execution.eventLogs) events.push(ev);
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
out.events = events.map((ev) => ({
  type: ev.type,
  timestamp: ev.timestamp,
  state: ev.state?.name,
  stateType: ev.state?.type,
  error: ev.Error,
  cause: ev.Cause === undefined ? undefined : (typeof ev.Cause === 'string' ? ev.Cause : JSON.stringify(ev.Cause)),
  retryAttempt: ev.retry?.attempt,
}));
process.stdout.write(JSON.stringify(out));
