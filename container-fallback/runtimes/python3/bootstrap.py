"""Hearth's Python bootstrap: the server in every python3 runtime container.

Started by the image's CMD (uid 10001, read-only root filesystem, /tmp a writable tmpfs). It
listens on 0.0.0.0:9000 and serves, one thread per connection:

  GET  /health  200 "ok" once listening.
  POST /init    once: loads the function's code (written under /tmp/code) and finds its handler.
                200 {"ok": true}; 400 {"errorType": "InitError", "errorMessage", "stackTrace"}
                when the code does not load; 409 for a second /init.
  POST /invoke  runs the handler with the event; always 200 once the call was handled, with
                X-Hearth-Outcome: ok | error | bad-payload and X-Hearth-Log-Bytes: N; the body is
                N bytes of logs (a UTF-8 JSON array of [stream, timeMs, line]) followed by the
                encoded result (ok) or a JSON error {"errorType", "errorMessage", "stackTrace"}.
                409 before a successful /init.

What a handler writes to stdout/stderr (print, sys.stdout/sys.stderr, logging) during a call is
captured per thread and returned with that call (at most 1 MiB). Writes outside any call (module
init, a background thread, a child process, os.write on fd 1/2) are dropped: once listening, the
bootstrap points fds 1 and 2 at /dev/null (see detach_output), because every byte on the
container's own stdout/stderr is copied by containerd-shim and dockerd outside the container's
cgroup (over a core of the host's CPU for a flood) and Hearth never reads a runtime container's
Docker log. Only what comes before (an interpreter or bootstrap start-up error) is in `docker logs`.

Standard library and msgpack only. Timeouts are the host's business (it kills the container).
"""

import base64
import importlib
import io
import json
import logging
import os
import socket
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import msgpack
except ImportError:  # the image ships python3-msgpack; without it only JSON calls work
    msgpack = None

PORT = int(os.environ.get("HEARTH_BOOTSTRAP_PORT", "9000"))
CODE_DIR = os.environ.get("HEARTH_CODE_DIR", "/tmp/code")
LOG_LIMIT = 1 << 20
TRUNCATED = "\u2026[logs truncated]"
BOOTSTRAP_FILE = os.path.abspath(__file__)

REAL_OUT = sys.stdout
REAL_ERR = sys.stderr


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------------------------
# Per-call log capture

class Capture:
    """The log lines of one call: [stream, timeMs, line], kept as encoded JSON pieces."""

    def __init__(self):
        self.pieces = []
        self.size = 2  # "[" and "]"
        self.truncated = False
        self.pending = ["", ""]
        self.closed = False
        self.lock = threading.Lock()

    def write(self, stream, text):
        with self.lock:
            buf = self.pending[stream] + text
            if "\n" in buf:
                parts = buf.split("\n")
                buf = parts.pop()
                for line in parts:
                    self._add(stream, line)
            if len(buf) > LOG_LIMIT:  # a huge line without a newline: cut it here
                self._add(stream, buf)
                buf = ""
            self.pending[stream] = buf

    def _add(self, stream, line):
        if self.truncated:
            return
        piece = json.dumps([stream, now_ms(), line], ensure_ascii=False, separators=(",", ":"))
        piece = piece.encode("utf-8", "replace")
        if self.size + len(piece) + 1 > LOG_LIMIT - 64:
            self.truncated = True
            piece = json.dumps([1, now_ms(), TRUNCATED], ensure_ascii=False).encode("utf-8")
        self.size += len(piece) + 1
        self.pieces.append(piece)

    def finish(self):
        """Ends the capture; returns the logs' bytes (empty when nothing was written)."""
        with self.lock:
            for stream in (0, 1):
                if self.pending[stream]:
                    self._add(stream, self.pending[stream])
                    self.pending[stream] = ""
            self.closed = True
            if not self.pieces:
                return b""
            return b"[" + b",".join(self.pieces) + b"]"


_local = threading.local()
_inflight = []  # captures of the calls running now
_inflight_lock = threading.Lock()


def current_capture():
    """The calling thread's call; for a thread the handler started, the one call in flight."""
    cap = getattr(_local, "capture", None)
    if cap is not None:
        return None if cap.closed else cap
    if getattr(_local, "bootstrap", False):
        return None
    with _inflight_lock:
        if len(_inflight) == 1:
            return _inflight[0]
    return None


class CapturedBuffer:
    """sys.stdout.buffer / sys.stderr.buffer: bytes writes, captured like text ones."""

    def __init__(self, owner):
        self._owner = owner

    def write(self, data):
        cap = current_capture()
        if cap is None:
            return self._owner._real.buffer.write(data)
        cap.write(self._owner._stream, bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self):
        self._owner._real.buffer.flush()

    def __getattr__(self, name):
        return getattr(self._owner._real.buffer, name)


class CapturedStream:
    """Replaces sys.stdout / sys.stderr: writes during a call go to the call's capture."""

    def __init__(self, stream, real):
        self._stream = stream
        self._real = real
        self.buffer = CapturedBuffer(self)

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        cap = current_capture()
        if cap is None:
            return self._real.write(text)
        cap.write(self._stream, text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if current_capture() is None:
            self._real.flush()

    def isatty(self):
        return False

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    def fileno(self):
        return self._real.fileno()

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "replace"

    @property
    def closed(self):
        return False

    def __getattr__(self, name):
        return getattr(self._real, name)


# ---------------------------------------------------------------------------------------------
# The function

class Context(dict):
    """The handler's context: attributes (Lambda style) and dict keys (SCF style) both work."""

    client_context = None
    identity = None

    def __init__(self, request_id, deadline_ms, fn):
        super().__init__(
            request_id=request_id,
            requestId=request_id,
            aws_request_id=request_id,
            function_name=fn.name,
            functionName=fn.name,
            function_version=fn.version,
            functionVersion=fn.version,
            memory_limit_in_mb=fn.memory_mb,
            memoryLimitInMb=fn.memory_mb,
            time_limit_in_ms=fn.timeout_ms,
            timeLimitInMs=fn.timeout_ms,
            namespace="default",
            environment=dict(fn.env),
        )
        self._deadline_ms = deadline_ms

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    getRemainingTimeInMillis = get_remaining_time_in_millis


class InitFailure(Exception):
    def __init__(self, message, stack=None):
        super().__init__(message)
        self.stack = stack or []


class Function:
    def __init__(self):
        self.phase = "new"  # new | initializing | ready | failed
        self.lock = threading.Lock()
        self.handler = None
        self.name = ""
        self.version = "$LATEST"
        self.memory_mb = 0
        self.timeout_ms = 3000
        self.env = {}
        self.init_error = ""


FN = Function()


def stack_of(tb):
    """Traceback frames as Lambda shows them, without the bootstrap's own frames."""
    out = []
    for f in traceback.extract_tb(tb):
        if os.path.abspath(f.filename) == BOOTSTRAP_FILE:
            continue
        line = f'  File "{f.filename}", line {f.lineno}, in {f.name}'
        out.append(line + f"\n    {f.line.strip()}" if f.line else line)
    return out


def write_code(code, module_path):
    os.makedirs(CODE_DIR, exist_ok=True)
    if not isinstance(code, dict):
        raise InitFailure("code must be an object with source or zip")
    if isinstance(code.get("zip"), str):
        import zipfile  # here: it is slow to import, and only zips need it

        try:
            data = base64.b64decode(code["zip"], validate=False)
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                z.extractall(CODE_DIR)  # extractall drops absolute paths and ".." parts
        except (zipfile.BadZipFile, ValueError) as e:
            raise InitFailure(f"the code is not a valid zip: {e}") from None
    elif isinstance(code.get("source"), str):
        filename = code.get("filename") or module_path + ".py"
        filename = os.path.normpath(filename).lstrip("/")
        if filename.startswith(".."):
            raise InitFailure(f"bad filename {code.get('filename')!r}")
        target = os.path.join(CODE_DIR, filename)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as f:
            f.write(code["source"])
    else:
        raise InitFailure("code must have source or zip")


def load(req):
    if not isinstance(req, dict):
        raise InitFailure("the /init body must be a JSON object")
    handler = str(req.get("handler") or "")
    module_path, sep, func_name = handler.rpartition(".")
    if not sep or not module_path or not func_name:
        raise InitFailure(f"bad handler {handler!r}: expected module.function, e.g. index.main_handler")
    module_path = module_path.replace(".", "/")
    module_name = module_path.replace("/", ".")
    if module_path.startswith("/") or ".." in module_path.split("/") or "" in module_name.split("."):
        raise InitFailure(f"bad handler {handler!r}")

    FN.name = str(req.get("functionName") or "")
    FN.version = str(req.get("version") or "$LATEST")
    FN.memory_mb = int(req.get("memoryMb") or 0)
    FN.timeout_ms = int(req.get("timeoutMs") or 3000)
    env = req.get("env") or {}
    if not isinstance(env, dict):
        raise InitFailure("env must be an object")
    FN.env = {str(k): str(v) for k, v in env.items()}
    os.environ.update(FN.env)

    write_code(req.get("code"), module_path)
    if CODE_DIR not in sys.path:
        sys.path.insert(0, CODE_DIR)
    importlib.invalidate_caches()
    try:
        os.chdir(CODE_DIR)
    except OSError:
        pass

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise InitFailure(
                f"cannot load handler {handler!r}: no module {module_name!r} in the code "
                f"({module_path}.py not found)", stack_of(e.__traceback__)) from None
        raise InitFailure(f"cannot load handler {handler!r}: {type(e).__name__}: {e}", stack_of(e.__traceback__)) from None
    except SyntaxError as e:
        where = f"{os.path.relpath(e.filename, CODE_DIR) if e.filename else module_path + '.py'}, line {e.lineno}"
        raise InitFailure(f"cannot load handler {handler!r}: {type(e).__name__}: {e.msg} ({where})",
                          stack_of(e.__traceback__)) from None
    except BaseException as e:  # anything the module raised while it ran (SystemExit included)
        raise InitFailure(f"cannot load handler {handler!r}: {type(e).__name__}: {e}", stack_of(e.__traceback__)) from None

    where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), None)
    where = os.path.abspath(where) if where else ""
    if not where.startswith(CODE_DIR.rstrip("/") + "/"):
        # A name the standard library (or the bootstrap) has taken already, e.g. json.handler.
        raise InitFailure(f"cannot load handler {handler!r}: {module_name!r} is the Python installation's "
                          f"module ({where or 'built in'}), not the function's: rename {module_path}.py")
    fn = getattr(module, func_name, None)
    if fn is None:
        raise InitFailure(f"cannot load handler {handler!r}: module {module_name!r} has no function {func_name!r}")
    if not callable(fn):
        raise InitFailure(f"cannot load handler {handler!r}: {module_name}.{func_name} is not callable")
    FN.handler = fn


# ---------------------------------------------------------------------------------------------
# Encoding

def wants_msgpack(value):
    return "msgpack" in (value or "").lower()


def decode_event(body, as_msgpack):
    if not body:
        return {}
    if as_msgpack:
        if msgpack is None:
            raise ValueError("msgpack is not installed in this image")
        return msgpack.unpackb(body, raw=False, strict_map_key=False)
    # JSON as RFC 8259 has it, as the other runtimes read it: UTF-8 without a byte order mark
    # (json.loads would take one, and UTF-16/32), and no NaN or Infinity.
    return json.loads(body.decode("utf-8"), parse_constant=_not_json)


def _not_json(name):
    raise ValueError(f"{name} is not a JSON value")


def encode_result(result, as_msgpack):
    if as_msgpack:
        return msgpack.packb(result, use_bin_type=True)
    try:
        text = json.dumps(result, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escaped instead
        return json.dumps(result, separators=(",", ":"), allow_nan=False).encode("ascii")


def error_json(error_type, message, stack=None):
    return json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": stack or []},
                      ensure_ascii=False).encode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# The call

def run_handler(event, ctx):
    result = FN.handler(event, ctx)
    if hasattr(result, "__await__"):  # an async def handler
        import asyncio  # here: ~50 ms to import, off the container's start

        async def wait():
            return await result
        result = asyncio.run(wait())
    return result


def invoke(body, headers):
    """Returns (outcome, logs bytes, payload bytes, payload content type)."""
    req_mp = wants_msgpack(headers.get("Content-Type"))
    accept = (headers.get("Accept") or "").lower()
    res_mp = wants_msgpack(accept) if ("msgpack" in accept or "json" in accept) else req_mp
    request_id = headers.get("X-Hearth-Request-Id") or str(uuid.uuid4())
    try:
        deadline = int(headers.get("X-Hearth-Deadline-Ms") or 0)
    except ValueError:
        deadline = 0
    if deadline <= 0:
        deadline = now_ms() + FN.timeout_ms
    if res_mp and msgpack is None:
        res_mp = False

    try:
        event = decode_event(body, req_mp)
    except Exception as e:
        what = "msgpack" if req_mp else "JSON"
        return "bad-payload", b"", error_json(type(e).__name__, f"the request body is not valid {what}: {e}"), "application/json"

    ctx = Context(request_id, deadline, FN)
    cap = Capture()
    _local.capture = cap
    with _inflight_lock:
        _inflight.append(cap)
    try:
        try:
            result = run_handler(event, ctx)
        except BaseException as e:  # SystemExit too: the call fails, the container stays
            if isinstance(e, KeyboardInterrupt):
                raise
            try:
                message = str(e)
            except Exception:
                message = repr(e)
            return "error", cap.finish(), error_json(type(e).__name__, message, stack_of(e.__traceback__)), "application/json"
    finally:
        _local.capture = None
        with _inflight_lock:
            _inflight.remove(cap)
        cap.closed = True
    logs = cap.finish()
    try:
        payload = encode_result(result, res_mp)
    except Exception as e:
        return "error", logs, error_json("ResultNotSerializable", f"the handler's result cannot be encoded as {'msgpack' if res_mp else 'JSON'}: {e}"), "application/json"
    return "ok", logs, payload, "application/msgpack" if res_mp else "application/json"


# ---------------------------------------------------------------------------------------------
# HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hearth-python"
    sys_version = ""
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        _local.bootstrap = True

    def log_message(self, format, *args):  # no access log
        pass

    def send(self, status, body, content_type="application/json", extra=()):
        reason = self.responses.get(status, ("",))[0]
        head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        head.extend(f"{k}: {v}" for k, v in extra)
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def path_only(self):
        return self.path.split("?", 1)[0]

    def do_GET(self):
        if self.path_only() == "/health":
            self.send(200, b"ok", "text/plain")
        else:
            self.send(404, error_json("NotFound", f"no route GET {self.path_only()}"))

    def do_POST(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send(400, error_json("BadRequest", "unreadable request body"))
            return
        path = self.path_only()
        if path == "/invoke":
            self.do_invoke(body)
        elif path == "/init":
            self.do_init(body)
        else:
            self.send(404, error_json("NotFound", f"no route POST {path}"))

    def do_init(self, body):
        with FN.lock:
            if FN.phase != "new":
                self.send(409, error_json("AlreadyInitialized", f"/init was already called (the function is {FN.phase})"))
                return
            FN.phase = "initializing"
        try:
            try:
                req = json.loads(body or b"{}")
            except ValueError as e:
                raise InitFailure(f"the /init body is not JSON: {e}") from None
            load(req)
        except InitFailure as e:
            FN.phase = "failed"
            FN.init_error = str(e)
            self.send(400, error_json("InitError", str(e), e.stack))
            return
        except BaseException as e:
            FN.phase = "failed"
            FN.init_error = f"{type(e).__name__}: {e}"
            self.send(400, error_json("InitError", FN.init_error, stack_of(e.__traceback__)))
            return
        FN.phase = "ready"
        self.send(200, b'{"ok":true}')

    def do_invoke(self, body):
        if FN.phase != "ready":
            why = f": {FN.init_error}" if FN.phase == "failed" else ""
            self.send(409, error_json("NotInitialized", f"the function is not initialized ({FN.phase}){why}"))
            return
        outcome, logs, payload, content_type = invoke(body, self.headers)
        self.send(200, logs + payload, content_type,
                  (("X-Hearth-Outcome", outcome), ("X-Hearth-Log-Bytes", str(len(logs)))))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # Not through sys.stderr: that would land in a call's logs.
        REAL_ERR.write(f"hearth bootstrap: error serving {client_address}:\n{traceback.format_exc()}")
        REAL_ERR.flush()


def detach_output():
    """Points fds 1 and 2 at /dev/null, so that nothing this container writes reaches Docker.

    The container's stdout/stderr are pipes read by containerd-shim and dockerd, which copy and
    JSON-encode every byte outside the container's cgroup: a function flooding them outside a call
    cost the host over a core. From here on, no process of the function (threads, children forked
    later, os.write(1, ...)) holds those pipes; the bootstrap's own diagnostics outside calls
    (handle_error) are dropped with them (they were never read: Hearth reads no runtime
    container's Docker log). The container's init (docker-init) still has them open, idle.
    """
    for stream in (REAL_OUT, REAL_ERR):
        try:
            stream.flush()
        except Exception:
            pass
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)


def main():
    sys.stdout = CapturedStream(0, REAL_OUT)
    sys.stderr = CapturedStream(1, REAL_ERR)
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    _local.bootstrap = True
    server = Server(("0.0.0.0", PORT), Handler)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    REAL_ERR.write(f"hearth python bootstrap listening on :{PORT}\n")
    REAL_ERR.flush()
    detach_output()
    server.serve_forever(poll_interval=3600)


if __name__ == "__main__":
    main()
