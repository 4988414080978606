// Lambda@Edge origin-request handler (nodejs22.x): runs the Go edge rewrite compiled to WebAssembly.
// The module is instantiated once per container, at load; each event is one call into it.
import { readFileSync } from 'node:fs';

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
let exports = instantiate();

function instantiate() {
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
  const instance = new WebAssembly.Instance(wasm, wasi.getImportObject());
  wasi.initialize(instance);
  return instance.exports;
}

export const handler = async (event) => {
  exports ??= instantiate();
  let answer;
  try {
    const input = encoder.encode(JSON.stringify(event));
    const ptr = exports.alloc(input.length);
    new Uint8Array(exports.memory.buffer, ptr, input.length).set(input);
    const packed = exports.rewrite(input.length);
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
};
