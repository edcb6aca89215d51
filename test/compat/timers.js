// Timers and friends, as observable order and true/false only (nothing time-dependent is
// returned): setTimeout ordering, clearTimeout, setInterval cleared after 3 ticks, microtask vs
// promise order, AbortController and AbortSignal.timeout racing a promise, structuredClone,
// performance.now() monotonicity.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function ordering() {
  const log = [];
  setTimeout(() => log.push('t10'), 10);
  setTimeout(() => log.push('t0'), 0);
  setTimeout(() => log.push('t0-second'), 0);
  setTimeout((a, b) => log.push(`args:${a}${b}`), 1, 'x', 'y');
  const cancelled = setTimeout(() => log.push('cancelled ran'), 5);
  clearTimeout(cancelled);
  clearTimeout(undefined);
  clearTimeout(123456789);
  Promise.resolve().then(() => log.push('promise1'));
  queueMicrotask(() => log.push('microtask'));
  Promise.resolve().then(() => log.push('promise2')).then(() => log.push('promise2b'));
  log.push('sync');
  await sleep(60);
  return { log, idType: typeof cancelled, idPositive: cancelled > 0 };
}

async function interval() {
  let ticks = 0;
  const done = await new Promise((resolve) => {
    const id = setInterval(() => {
      ticks++;
      if (ticks === 3) { clearInterval(id); resolve(true); }
    }, 5);
  });
  await sleep(40);
  return { done, ticks };
}

async function abort() {
  const out = {};
  const c = new AbortController();
  const events = [];
  c.signal.addEventListener('abort', (e) => events.push(e.type));
  c.signal.onabort = () => events.push('onabort');
  out.before = c.signal.aborted;
  c.abort();
  c.abort(); // second abort is a no-op
  out.after = c.signal.aborted;
  out.reason = c.signal.reason instanceof DOMException ? c.signal.reason.name : typeof c.signal.reason;
  out.events = events;
  try { c.signal.throwIfAborted(); out.throwIfAborted = 'no error'; } catch (e) { out.throwIfAborted = e.name; }
  const c2 = new AbortController();
  c2.abort(new Error('custom reason'));
  out.customReason = c2.signal.reason.message;
  const pre = AbortSignal.abort();
  out.staticAbort = [pre.aborted, pre.reason.name];

  const signal = AbortSignal.timeout(20);
  const slow = sleep(500).then(() => 'slow finished');
  const aborted = new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  try { out.race = await Promise.race([slow, aborted]); } catch (e) { out.race = e.name; }
  out.timeoutAborted = signal.aborted;

  const fast = AbortSignal.timeout(500);
  out.fastRace = await Promise.race([sleep(5).then(() => 'fast finished'), new Promise((_, rej) => fast.addEventListener('abort', () => rej(fast.reason)))]);
  out.fastAborted = fast.aborted;
  if (typeof AbortSignal.any === 'function') {
    const a = new AbortController();
    const any = AbortSignal.any([a.signal, AbortSignal.timeout(10_000)]);
    a.abort();
    out.any = [any.aborted, any.reason.name];
  }
  return out;
}

function clone() {
  const date = new Date(Date.UTC(2020, 1, 29, 12, 0, 0, 123));
  const map = new Map([['a', 1], ['b', { nested: [1, 2] }]]);
  const original = { date, map, set: new Set(['x', 'y']), arr: [1, 'two', null], bytes: new Uint8Array([1, 2, 3]), re: /ab+c/gi, big: 10n };
  original.self = original;
  const c = structuredClone(original);
  let fnError;
  try { structuredClone({ f() {} }); fnError = 'no error'; } catch (e) { fnError = e.name; }
  return {
    mapIsMap: c.map instanceof Map,
    mapDistinct: c.map !== map,
    mapEntries: [...c.map],
    deepCopied: c.map.get('b') !== map.get('b'),
    dateIsDate: c.date instanceof Date,
    dateIso: c.date.toISOString(),
    dateDistinct: c.date !== date,
    set: [...c.set],
    arr: c.arr,
    bytes: [...c.bytes],
    bytesIsUint8: c.bytes instanceof Uint8Array,
    re: [c.re.source, c.re.flags],
    big: String(c.big),
    cycle: c.self === c,
    fnError,
  };
}

async function perf() {
  const samples = [performance.now()];
  for (let i = 0; i < 3; i++) { await sleep(2); samples.push(performance.now()); }
  return {
    type: typeof samples[0],
    monotonic: samples.every((s, i) => i === 0 || s >= samples[i - 1]),
    nonNegative: samples[0] >= 0,
    timeOriginType: typeof performance.timeOrigin,
  };
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/ordering') return Response.json(await ordering());
    if (pathname === '/interval') return Response.json(await interval());
    if (pathname === '/abort') return Response.json(await abort());
    if (pathname === '/clone') return Response.json(clone());
    if (pathname === '/perf') return Response.json(await perf());
    return new Response('not found', { status: 404 });
  },
};
