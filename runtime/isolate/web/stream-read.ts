// Reading a ReadableStream the way Fetch's "fully read body" does: with a read request of the
// runtime's own (Streams §4.3 "read requests": chunk, close and error steps), not with
// reader.read()'s promise. That promise is resolved with a {value, done} object, and resolving a
// promise with an object looks up its `then`: a function that put `then` on Object.prototype
// would see, and could replace, every chunk of a body the runtime reads (Fetch says the read is not
// observable). Here the promise is resolved with undefined and the chunk handed over in a closure.
//
// It uses web-streams-polyfill's internals, for the version package.json pins: the reader's owner
// stream (_ownerReadableStream), its [[disturbed]], [[state]] and [[storedError]] slots, and the
// controller's [[PullSteps]] method (a module-private symbol, found by its description).

import { ReadableStreamDefaultController, ReadableByteStreamController, type ReadableStreamDefaultReader } from 'web-streams-polyfill';

interface ReadRequest {
  _chunkSteps(chunk: unknown): void;
  _closeSteps(): void;
  _errorSteps(e: unknown): void;
}

interface StreamSlots {
  _state: 'readable' | 'closed' | 'errored';
  _storedError: unknown;
  _disturbed: boolean;
  _readableStreamController: Record<symbol, (r: ReadRequest) => void>;
}

function pullStepsSymbol(proto: object): symbol {
  const s = Object.getOwnPropertySymbols(proto).find((k) => k.description === '[[PullSteps]]');
  if (s === undefined) throw new Error('web-streams-polyfill: no [[PullSteps]] (its version changed?)');
  return s;
}

const PULL_DEFAULT = pullStepsSymbol(ReadableStreamDefaultController.prototype);
const PULL_BYTES = pullStepsSymbol(ReadableByteStreamController.prototype);

/** Where readChunk puts what it read. */
export interface Chunk { done: boolean; value: unknown }

/**
 * One chunk from a reader the caller holds (ReadableStreamDefaultReaderRead, unobservably): the
 * promise resolves with undefined once `into` holds the chunk (or done).
 */
export function readChunk(reader: ReadableStreamDefaultReader<unknown>, into: Chunk): Promise<void> {
  const stream = (reader as unknown as { _ownerReadableStream?: StreamSlots })._ownerReadableStream;
  if (stream === undefined) return Promise.reject(new TypeError('The reader was released'));
  return new Promise<void>((resolve, reject) => {
    const request: ReadRequest = {
      _chunkSteps(chunk) { into.done = false; into.value = chunk; resolve(); },
      _closeSteps() { into.done = true; into.value = undefined; resolve(); },
      _errorSteps(e) { reject(e); },
    };
    stream._disturbed = true;
    if (stream._state === 'closed') request._closeSteps();
    else if (stream._state === 'errored') request._errorSteps(stream._storedError);
    else {
      const controller = stream._readableStreamController;
      const pull = controller[PULL_DEFAULT] ?? controller[PULL_BYTES];
      pull!.call(controller, request);
    }
  });
}
