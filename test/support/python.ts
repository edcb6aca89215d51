// Python function specs the container tests share.

/** A python3 function from one source file (index.main_handler). */
export const py = (source: string, extra: Record<string, unknown> = {}) => ({ runtime: 'python3', handler: 'index.main_handler', code: { source }, ...extra });

/**
 * Holds each call `hold` s (or until `want` calls were in this container at once); says which
 * container ran it and the most calls it held at once.
 */
export const HOLD = `
import socket, threading, time
lock = threading.Lock()
now = 0
peak = 0
def main_handler(event, context):
    global now, peak
    with lock:
        now += 1
        peak = max(peak, now)
    try:
        end = time.time() + event.get("hold", 0)
        want = event.get("want", 0)
        while time.time() < end and not (want and peak >= want):
            time.sleep(0.01)
    finally:
        with lock:
            now -= 1
    return {"host": socket.gethostname(), "peak": peak}
`;
