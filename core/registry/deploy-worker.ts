// A deploy worker thread (deploy-work.ts starts it): does one build at a time, as asked, and
// answers the result or the error's type and message.

import { parentPort } from 'node:worker_threads';
import { HearthError } from '../errors.js';
import { doWork, type WorkReply, type WorkRequest } from './deploy-work.js';

const port = parentPort!;
port.on('message', (req: WorkRequest) => {
  doWork(req).then(
    (value) => port.postMessage({ id: req.id, ok: true, value } satisfies WorkReply),
    (err: unknown) => port.postMessage({
      id: req.id, ok: false,
      type: err instanceof HearthError ? err.type : null,
      message: err instanceof Error ? err.message : String(err),
      ...(err instanceof HearthError && err.problems ? { problems: err.problems } : {}),
    } satisfies WorkReply),
  );
});
