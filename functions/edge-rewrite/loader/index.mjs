// Lambda@Edge origin-request handler (nodejs22.x): runs the Go edge handler compiled to WebAssembly.
// The module is instantiated once per container, at load; each event is one call into it. The module
// cannot do network I/O, so this loader reads the active-region signal (a DNS TXT record named by the
// origin's x-switchyard-signal-name header) and hands it over; the routing decision stays in Go.
import { readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';

// node:wasi announces itself as experimental on stderr; Lambda@Edge has no environment variables
// or flags to silence that, so only that one warning is dropped, while the import runs.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (!String(warning).includes('WASI')) emitWarning.call(process, warning, ...rest);
};
const { WASI } = await import('node:wasi');
process.emitWarning = emitWarning;

const wasm = new WebAssembly.Module(readFileSync(new URL('./edge-rewrite.wasm', import.meta.url)));
const encoder = new TextEncoder();
const decoder = new TextDecoder();
// The JSON of the signal the module holds now: handed over again only when it changes.
let handed;
let exports = instantiate();

function instantiate() {
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
  const instance = new WebAssembly.Instance(wasm, wasi.getImportObject());
  wasi.initialize(instance);
  handed = undefined;
  return instance.exports;
}

// The same policy as edge.SignalCache in Go: one lookup per name per TTL, at most TIMEOUT each; a
// failed lookup keeps the last good answer, marked with the error, for up to MAX_STALE.
const TTL = 5000, TIMEOUT = 1000, MAX_STALE = 60000;
const cache = new Map();

function customHeader(origin, name) {
  const values = origin?.customHeaders?.[name];
  return Array.isArray(values) && values.length > 0 ? String(values[0].value) : '';
}

async function lookup(name, server) {
  const resolver = new Resolver({ timeout: TIMEOUT, tries: 1 });
  if (server) resolver.setServers([server]);
  const records = await resolver.resolveTxt(name);
  return records.map((chunks) => chunks.join(''));
}

// signalFor returns the signal for the event's origin, { answers: [] } when it names none.
export async function signalFor(event) {
  const origin = event?.Records?.[0]?.cf?.request?.origin?.custom;
  const name = customHeader(origin, 'x-switchyard-signal-name');
  if (!name) return { answers: [] };
  const server = customHeader(origin, 'x-switchyard-signal-resolver');
  const key = `${name}@${server}`;
  const now = Date.now();
  let entry = cache.get(key);
  if (!entry) {
    entry = { signal: { answers: [] }, good: 0, attempted: 0 };
    cache.set(key, entry);
  }
  if (entry.attempted === 0 || now - entry.attempted >= TTL) {
    entry.attempted = now;
    try {
      entry.signal = { answers: await lookup(name, server) };
      entry.good = now;
    } catch (e) {
      entry.signal = { answers: entry.signal.answers, error: `${e.code ?? e.name}: ${e.message}` };
    }
  }
  if (entry.signal.error && now - entry.good > MAX_STALE) return { answers: [], error: entry.signal.error };
  return entry.signal;
}

function call(name, text) {
  const input = encoder.encode(text);
  const ptr = exports.alloc(input.length);
  new Uint8Array(exports.memory.buffer, ptr, input.length).set(input);
  return exports[name](input.length);
}

// route runs the Go handler on event with signal; exported for the tests that compare it with the
// native build.
export function route(event, signal) {
  exports ??= instantiate();
  let answer;
  try {
    const s = JSON.stringify(signal);
    if (s !== handed) {
      call('signal', s);
      handed = s;
    }
    const packed = call('rewrite', JSON.stringify(event));
    const at = Number(packed >> 32n), length = Number(packed & 0xffffffffn);
    answer = JSON.parse(decoder.decode(new Uint8Array(exports.memory.buffer, at, length)));
  } catch (trap) {
    // A trapped instance is unusable: start afresh on the next event.
    exports = undefined;
    throw trap;
  }
  if (answer.errorType) {
    const error = new Error(answer.errorMessage);
    error.name = answer.errorType;
    throw error;
  }
  return answer.request;
}

export const handler = async (event) => route(event, await signalFor(event));
