// ReadableStream.prototype.pipeTo (Streams §4.9.11 ReadableStreamPipeTo) on web-streams-polyfill as
// the runtime bundles it (patched): a chunk enqueued while the pipe waits for one is written in a
// later microtask, never from inside enqueue(); order, closing, erroring and backpressure hold.

import { describe, expect, test } from 'vitest';
import { CountQueuingStrategy, ReadableStream, WritableStream } from 'web-streams-polyfill';

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

describe('pipeTo', () => {
  test('enqueue() while the pipe waits does not run the write algorithm synchronously', async () => {
    let controller!: ReadableStreamDefaultController<string>;
    const written: string[] = [];
    let insideEnqueue = false;
    let wroteInside = false;
    const rs = new ReadableStream<string>({ start(c) { controller = c as never; } }, { highWaterMark: 0 });
    void rs.pipeTo(new WritableStream<string>({ write(chunk) { if (insideEnqueue) wroteInside = true; written.push(chunk); } }));
    await tick();
    insideEnqueue = true;
    controller.enqueue('a');
    insideEnqueue = false;
    expect(written).toEqual([]);
    await tick();
    expect([written, wroteInside]).toEqual([['a'], false]);
  });

  test('chunks arrive in order, and close propagates after the last write', async () => {
    let controller!: ReadableStreamDefaultController<number>;
    const events: string[] = [];
    const rs = new ReadableStream<number>({ start(c) { controller = c as never; } });
    const done = rs.pipeTo(new WritableStream<number>({ write(c) { events.push(`w${c}`); }, close() { events.push('close'); } }));
    await tick();
    controller.enqueue(1);
    controller.enqueue(2);
    controller.close();
    await done;
    expect(events).toEqual(['w1', 'w2', 'close']);
  });

  test('a chunk enqueued just before the source errors is written, then the destination is aborted', async () => {
    let controller!: ReadableStreamDefaultController<string>;
    const events: string[] = [];
    const rs = new ReadableStream<string>({ start(c) { controller = c as never; } });
    const done = rs.pipeTo(new WritableStream<string>({ write(c) { events.push(`w:${c}`); }, abort(r) { events.push(`abort:${String(r)}`); } }));
    await tick();
    controller.enqueue('x');
    controller.error('boom');
    await expect(done).rejects.toBe('boom');
    expect(events).toEqual(['w:x', 'abort:boom']);
  });

  test('backpressure: a destination that does not finish its writes stops the pipe from pulling', async () => {
    let pulls = 0;
    const rs = new ReadableStream<number>({ pull(c) { pulls++; c.enqueue(pulls); } }, new CountQueuingStrategy({ highWaterMark: 1 }));
    const writes: number[] = [];
    void rs.pipeTo(new WritableStream<number>({ write(c) { writes.push(c); return new Promise(() => {}); } }, new CountQueuingStrategy({ highWaterMark: 1 })));
    for (let i = 0; i < 10; i++) await tick();
    // One write in progress, one chunk queued at the destination, one in the source's queue (its
    // highWaterMark): a bounded few, not one pull per tick.
    expect(writes).toEqual([1]);
    expect(pulls).toBeLessThanOrEqual(4);
  });
});
