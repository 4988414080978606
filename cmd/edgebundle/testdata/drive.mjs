// Drives the Lambda@Edge bundle for the Go tests and benchmarks; prints one JSON line per result.
//   node drive.mjs BUNDLE_DIR run EVENT.json...   the handler's answer to each event; a file of the
//                                                 form {"event":...,"signal":...} runs the event with
//                                                 that signal (the loader's route) instead of a lookup
//   node drive.mjs BUNDLE_DIR calls N EVENT.json  mean time of N calls after a warm-up
//   node drive.mjs BUNDLE_DIR import              time to load the bundle (compile + instantiate)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, mode, ...args] = process.argv.slice(2);
const bundle = pathToFileURL(join(dir, 'index.mjs')).href;
const print = (v) => process.stdout.write(JSON.stringify(v) + '\n');
const load = (file) => JSON.parse(readFileSync(file, 'utf8'));
// call runs one loaded file: an event through the handler, or an event with a given signal.
const call = async (v) => ('event' in v && 'signal' in v ? route(v.event, v.signal) : handler(v));

const started = performance.now();
const { handler, route } = await import(bundle);
const importMs = performance.now() - started;

if (mode === 'import') {
  print({ importMs });
} else if (mode === 'run') {
  for (const file of args) {
    try {
      print({ file, answer: await call(load(file)) });
    } catch (e) {
      print({ file, answer: { errorType: e.name, errorMessage: e.message } });
    }
  }
} else if (mode === 'calls') {
  const n = Number(args[0]);
  const event = load(args[1]);
  for (let i = 0; i < 200; i++) await call(event);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call(event);
  print({ nsPerCall: Number(process.hrtime.bigint() - t0) / n });
} else {
  console.error(`unknown mode ${mode}: want run, calls or import`);
  process.exit(2);
}
