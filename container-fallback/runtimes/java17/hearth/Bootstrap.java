package hearth;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.msgpack.jackson.dataformat.MessagePackFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Hearth's Java bootstrap: the server in every java17 runtime container (started by the image's
 * CMD; uid 10001, read-only root filesystem, /tmp a writable tmpfs). It listens on 0.0.0.0:9000:
 *
 * <ul>
 * <li>GET /health: 200 "ok" once listening.
 * <li>POST /init (once): loads the function's jar (or zip: classes and lib/*.jar) with a
 *     URLClassLoader, finds {@code pkg.Class::method}, makes one instance of the class (unless the
 *     method is static). 200 {"ok":true}; 400 {"errorType":"InitError",...} when it does not
 *     load; 409 for a second /init.
 * <li>POST /invoke: runs the method with the event (Jackson-deserialized into its first
 *     parameter's type; an optional second parameter gets the {@link Context}). Always 200 once
 *     handled, with X-Hearth-Outcome (ok | error | bad-payload) and X-Hearth-Log-Bytes: N; the body
 *     is N bytes of logs (a JSON array of [stream, timeMs, line]), then the JSON or msgpack result,
 *     or a JSON error {"errorType","errorMessage","stackTrace"}. 409 before a successful /init.
 * </ul>
 *
 * <p>System.out and System.err are captured per calling thread (a thread the handler starts writes
 * to the call in flight when there is exactly one); writes outside a call go to the container's
 * own stdout/stderr. The function's env is not in System.getenv() (a JVM's environment is fixed
 * at start): it is in {@link Env} and {@link Context#getEnv()}.
 *
 * <p>{@code --warmup} runs one of each request against itself and exits (the image build records
 * the classes it loads in a CDS archive, for a faster start).
 */
public final class Bootstrap {
    static final int LOG_LIMIT = 1 << 20;
    static final String TRUNCATED = "\u2026[logs truncated]";
    static final PrintStream REAL_OUT = System.out;
    static final PrintStream REAL_ERR = System.err;

    static final ObjectMapper JSON = new ObjectMapper()
        .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
        .configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true);
    // msgpack-jackson's parser throws at the end of its input where Jackson's trailing-token check
    // expects null: trailing bytes after the first msgpack value are ignored.
    static final ObjectMapper MSGPACK = new ObjectMapper(new MessagePackFactory())
        .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    // ------------------------------------------------------------------------------------------
    // Per-call log capture

    static final class Capture {
        private final List<byte[]> pieces = new ArrayList<>();
        private final ByteArrayOutputStream[] pending = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
        private long size = 2;
        private boolean truncated;
        volatile boolean closed;

        synchronized void write(int stream, byte[] b, int off, int len) {
            ByteArrayOutputStream p = pending[stream];
            int start = off, end = off + len;
            for (int i = off; i < end; i++) {
                if (b[i] == '\n') {
                    p.write(b, start, i - start);
                    add(stream, p.toByteArray());
                    p.reset();
                    start = i + 1;
                }
            }
            p.write(b, start, end - start);
            if (p.size() > LOG_LIMIT) { // a huge line without a newline: cut it here
                add(stream, p.toByteArray());
                p.reset();
            }
        }

        private void add(int stream, byte[] line) {
            if (truncated) return;
            int n = line.length;
            if (n > 0 && line[n - 1] == '\r') n--;
            byte[] piece = entry(stream, new String(line, 0, n, StandardCharsets.UTF_8));
            if (size + piece.length + 1 > LOG_LIMIT - 64) {
                truncated = true;
                piece = entry(1, TRUNCATED);
            }
            size += piece.length + 1;
            pieces.add(piece);
        }

        private static byte[] entry(int stream, String line) {
            ArrayNode a = JSON.createArrayNode();
            a.add(stream).add(System.currentTimeMillis()).add(line);
            try {
                return JSON.writeValueAsBytes(a);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Ends the capture: the logs' bytes (empty when nothing was written). */
        synchronized byte[] finish() {
            for (int s = 0; s < 2; s++) {
                if (pending[s].size() > 0) {
                    add(s, pending[s].toByteArray());
                    pending[s].reset();
                }
            }
            closed = true;
            if (pieces.isEmpty()) return new byte[0];
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) size);
            out.write('[');
            for (int i = 0; i < pieces.size(); i++) {
                if (i > 0) out.write(',');
                out.writeBytes(pieces.get(i));
            }
            out.write(']');
            return out.toByteArray();
        }
    }

    static final ThreadLocal<Capture> CURRENT = new ThreadLocal<>();
    static final List<Capture> INFLIGHT = new CopyOnWriteArrayList<>();

    /** Threads of the server: never attributed to a call by the one-call-in-flight rule. */
    static final class ServerThread extends Thread {
        ServerThread(Runnable r, String name) {
            super(r, name);
        }
    }

    static Capture currentCapture() {
        Capture c = CURRENT.get();
        if (c != null) return c.closed ? null : c;
        if (Thread.currentThread() instanceof ServerThread) return null;
        if (INFLIGHT.size() == 1) {
            try {
                Capture only = INFLIGHT.get(0);
                return only.closed ? null : only;
            } catch (IndexOutOfBoundsException gone) {
                return null;
            }
        }
        return null;
    }

    /** System.out / System.err: a call's writes go to its capture, the rest to the real stream. */
    static final class Router extends OutputStream {
        private final int stream;
        private final PrintStream real;

        Router(int stream, PrintStream real) {
            this.stream = stream;
            this.real = real;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            Capture c = currentCapture();
            if (c == null) real.write(b, off, len);
            else c.write(stream, b, off, len);
        }

        @Override
        public void flush() {
            real.flush();
        }
    }

    // ------------------------------------------------------------------------------------------
    // The function

    static final class InitFailure extends Exception {
        private static final long serialVersionUID = 1L;
        final transient List<String> stack;

        InitFailure(String message, Throwable cause) {
            super(message);
            this.stack = cause == null ? List.of() : stackOf(cause);
        }
    }

    static final Object INIT_LOCK = new Object();
    static volatile String phase = "new"; // new | initializing | ready | failed
    static volatile String initError = "";
    static String functionName = "";
    static String functionVersion = "$LATEST";
    static int memoryMb;
    static int timeoutMs = 3000;
    static Map<String, String> env = Map.of();
    static Path codeDir = Path.of(System.getenv().getOrDefault("HEARTH_CODE_DIR", "/tmp/code"));
    static ClassLoader loader;
    static Method method;
    static Object target;
    static JavaType eventType;
    static boolean withContext;

    static void load(JsonNode req) throws InitFailure {
        if (req == null || !req.isObject()) throw new InitFailure("the /init body must be a JSON object", null);
        String handler = req.path("handler").asText("").trim();
        String className = handler, methodName = "handleRequest";
        int sep = handler.indexOf("::");
        if (sep >= 0) {
            className = handler.substring(0, sep);
            methodName = handler.substring(sep + 2);
        }
        if (className.isEmpty() || methodName.isEmpty()) {
            throw new InitFailure("bad handler \"" + handler + "\": expected pkg.Class::method", null);
        }
        functionName = req.path("functionName").asText("");
        functionVersion = req.path("version").asText("$LATEST");
        memoryMb = req.path("memoryMb").asInt(0);
        timeoutMs = req.path("timeoutMs").asInt(3000);
        Map<String, String> vars = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = req.path("env").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            vars.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString());
        }
        env = Map.copyOf(vars);
        Env.init(env);

        List<URL> urls = writeCode(req.path("code"));
        loader = new URLClassLoader(urls.toArray(new URL[0]), Bootstrap.class.getClassLoader());
        Thread.currentThread().setContextClassLoader(loader);

        Class<?> cls;
        try {
            cls = Class.forName(className, true, loader);
        } catch (ClassNotFoundException e) {
            throw new InitFailure("cannot load handler \"" + handler + "\": class " + className + " is not in the code", null);
        } catch (ExceptionInInitializerError e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            throw new InitFailure("cannot load handler \"" + handler + "\": class " + className + " failed to initialize: " + describe(c), c);
        } catch (LinkageError e) {
            throw new InitFailure("cannot load handler \"" + handler + "\": class " + className + " does not link: " + describe(e), e);
        }

        Method found = null;
        for (Method m : cls.getMethods()) {
            if (!m.getName().equals(methodName) || m.isBridge() || m.isSynthetic()) continue;
            Class<?>[] p = m.getParameterTypes();
            boolean two = p.length == 2 && p[1] == Context.class;
            if (two && (found == null || found.getParameterCount() != 2)) found = m;
            else if (p.length == 1 && found == null) found = m;
        }
        if (found == null) {
            throw new InitFailure("cannot load handler \"" + handler + "\": class " + className + " has no public method "
                + methodName + "(event) or " + methodName + "(event, hearth.Context)", null);
        }
        if (!Modifier.isStatic(found.getModifiers())) {
            try {
                var ctor = cls.getDeclaredConstructor();
                ctor.setAccessible(true);
                target = ctor.newInstance();
            } catch (NoSuchMethodException e) {
                throw new InitFailure("cannot load handler \"" + handler + "\": class " + className + " has no no-arg constructor (or make " + methodName + " static)", null);
            } catch (InvocationTargetException e) {
                Throwable c = e.getCause() != null ? e.getCause() : e;
                throw new InitFailure("cannot load handler \"" + handler + "\": the constructor of " + className + " threw " + describe(c), c);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new InitFailure("cannot load handler \"" + handler + "\": cannot instantiate " + className + ": " + describe(e), e);
            }
        }
        found.setAccessible(true);
        withContext = found.getParameterCount() == 2;
        eventType = JSON.getTypeFactory().constructType(found.getGenericParameterTypes()[0]);
        method = found;
    }

    /** Writes the code under codeDir; returns the class path (the jar; or the folder and lib/*.jar). */
    static List<URL> writeCode(JsonNode code) throws InitFailure {
        try {
            Files.createDirectories(codeDir);
            List<URL> urls = new ArrayList<>();
            if (code.path("jar").isTextual()) {
                Path jar = codeDir.resolve("function.jar");
                Files.write(jar, decodeBase64(code.path("jar").asText(), "jar"));
                try (java.util.jar.JarFile f = new java.util.jar.JarFile(jar.toFile())) {
                    f.size();
                } catch (IOException e) {
                    throw new InitFailure("the code is not a valid jar: " + e.getMessage(), null);
                }
                urls.add(jar.toUri().toURL());
            } else if (code.path("zip").isTextual()) {
                unzip(decodeBase64(code.path("zip").asText(), "zip"), codeDir);
                urls.add(codeDir.toUri().toURL());
                Path lib = codeDir.resolve("lib");
                if (Files.isDirectory(lib)) {
                    try (Stream<Path> s = Files.list(lib)) {
                        for (Path p : (Iterable<Path>) s.filter(x -> x.toString().endsWith(".jar")).sorted(Comparator.naturalOrder())::iterator) {
                            urls.add(p.toUri().toURL());
                        }
                    }
                }
            } else {
                throw new InitFailure("code must have jar (or zip) for a java17 function", null);
            }
            return urls;
        } catch (IOException e) {
            throw new InitFailure("cannot write the code: " + describe(e), e);
        }
    }

    static byte[] decodeBase64(String s, String what) throws InitFailure {
        try {
            return Base64.getMimeDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new InitFailure("the " + what + " is not valid base64: " + e.getMessage(), null);
        }
    }

    static void unzip(byte[] data, Path dir) throws IOException, InitFailure {
        Path root = dir.toAbsolutePath().normalize();
        int entries = 0;
        try (ZipInputStream z = new ZipInputStream(new java.io.ByteArrayInputStream(data))) {
            for (ZipEntry e; (e = z.getNextEntry()) != null; ) {
                entries++;
                Path to = root.resolve(e.getName()).normalize();
                if (!to.startsWith(root)) throw new InitFailure("the zip has an entry outside its folder: " + e.getName(), null);
                if (e.isDirectory()) {
                    Files.createDirectories(to);
                } else {
                    Files.createDirectories(to.getParent());
                    Files.copy(z, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        if (entries == 0) throw new InitFailure("the code is not a valid zip (no entries)", null);
    }

    // ------------------------------------------------------------------------------------------
    // Errors

    static String simpleName(Throwable t) {
        String n = t.getClass().getName();
        return n.substring(n.lastIndexOf('.') + 1);
    }

    static String describe(Throwable t) {
        return t.getMessage() == null ? simpleName(t) : simpleName(t) + ": " + t.getMessage();
    }

    static boolean bootstrapFrame(StackTraceElement e) {
        String c = e.getClassName();
        return c.startsWith("jdk.internal.reflect.") || c.startsWith("java.lang.reflect.") || c.startsWith("hearth.Bootstrap");
    }

    /** The throwable's frames down to the bootstrap's own, then its causes'. */
    static List<String> stackOf(Throwable t) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        for (Throwable cur = t; cur != null && depth < 8; cur = cur.getCause() == cur ? null : cur.getCause(), depth++) {
            if (cur != t) out.add("Caused by: " + cur.getClass().getName() + (cur.getMessage() == null ? "" : ": " + cur.getMessage()));
            int n = 0;
            for (StackTraceElement e : cur.getStackTrace()) {
                if (bootstrapFrame(e)) break;
                if (++n > 64) {
                    out.add("...");
                    break;
                }
                out.add("at " + e);
            }
        }
        return out;
    }

    static byte[] errorJson(String type, String message, List<String> stack) {
        ObjectNode o = JSON.createObjectNode();
        o.put("errorType", type);
        o.put("errorMessage", message == null ? "" : message);
        ArrayNode a = o.putArray("stackTrace");
        for (String s : stack) a.add(s);
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------------------------------
    // The call

    record Answer(String outcome, byte[] logs, byte[] payload, String contentType) {}

    static boolean wantsMsgpack(String v) {
        return v != null && v.toLowerCase().contains("msgpack");
    }

    static Answer invoke(byte[] body, com.sun.net.httpserver.Headers headers) {
        boolean reqMp = wantsMsgpack(headers.getFirst("Content-Type"));
        String accept = headers.getFirst("Accept") == null ? "" : headers.getFirst("Accept").toLowerCase();
        boolean resMp = accept.contains("msgpack") || accept.contains("json") ? accept.contains("msgpack") : reqMp;
        String requestId = headers.getFirst("X-Hearth-Request-Id");
        if (requestId == null || requestId.isEmpty()) requestId = UUID.randomUUID().toString();
        long deadline = 0;
        try {
            String d = headers.getFirst("X-Hearth-Deadline-Ms");
            if (d != null) deadline = Long.parseLong(d.trim());
        } catch (NumberFormatException ignored) {
            // the function's timeout from now
        }
        if (deadline <= 0) deadline = System.currentTimeMillis() + timeoutMs;

        Object event;
        ObjectMapper in = reqMp ? MSGPACK : JSON;
        JsonNode tree;
        try {
            // JSON as RFC 8259 has it, as the other runtimes read it: no byte order mark (Jackson
            // would skip one), and a body of only whitespace holds no value (Jackson: missing).
            if (!reqMp && body.length >= 3 && (body[0] & 0xff) == 0xef && (body[1] & 0xff) == 0xbb && (body[2] & 0xff) == 0xbf) {
                throw new IllegalArgumentException("a byte order mark is not JSON");
            }
            tree = body.length == 0 ? JSON.createObjectNode() : in.readTree(body);
            if (tree == null || tree.isMissingNode()) throw new IllegalArgumentException("the body holds no value");
        } catch (Exception e) {
            return new Answer("bad-payload", new byte[0],
                errorJson(simpleName(e), "the request body is not valid " + (reqMp ? "msgpack" : "JSON") + ": " + e.getMessage(), List.of()), "application/json");
        }
        try {
            event = JSON.convertValue(tree, eventType);
        } catch (Exception e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            return new Answer("bad-payload", new byte[0],
                errorJson(simpleName(c), "the event does not fit the handler's parameter type " + eventType.toCanonical() + ": " + c.getMessage(), List.of()), "application/json");
        }

        Context ctx = new Context(requestId, functionName, functionVersion, memoryMb, timeoutMs, deadline, env);
        Capture cap = new Capture();
        CURRENT.set(cap);
        INFLIGHT.add(cap);
        Object result;
        Thread self = Thread.currentThread();
        ClassLoader before = self.getContextClassLoader();
        self.setContextClassLoader(loader);
        try {
            result = withContext ? method.invoke(target, event, ctx) : method.invoke(target, event);
        } catch (Throwable t) {
            Throwable c = t instanceof InvocationTargetException && t.getCause() != null ? t.getCause() : t;
            // A handler's unflushed System.out text still belongs to this call.
            System.out.flush();
            System.err.flush();
            byte[] logs = cap.finish();
            return new Answer("error", logs, errorJson(simpleName(c), c.getMessage(), stackOf(c)), "application/json");
        } finally {
            self.setContextClassLoader(before);
            CURRENT.remove();
            INFLIGHT.remove(cap);
        }
        byte[] logs = cap.finish();
        try {
            byte[] payload = (resMp ? MSGPACK : JSON).writeValueAsBytes(result);
            return new Answer("ok", logs, payload, resMp ? "application/msgpack" : "application/json");
        } catch (Exception e) {
            return new Answer("error", logs,
                errorJson("ResultNotSerializable", "the handler's result cannot be encoded as " + (resMp ? "msgpack" : "JSON") + ": " + e.getMessage(), List.of()),
                "application/json");
        }
    }

    // ------------------------------------------------------------------------------------------
    // HTTP

    static void send(HttpExchange x, int status, byte[] body, String contentType, String... extra) throws IOException {
        var h = x.getResponseHeaders();
        h.set("Content-Type", contentType);
        for (int i = 0; i + 1 < extra.length; i += 2) h.set(extra[i], extra[i + 1]);
        x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream o = x.getResponseBody()) {
                o.write(body);
            }
        }
        x.close();
    }

    static void health(HttpExchange x) throws IOException {
        drain(x);
        if (x.getRequestURI().getPath().equals("/health")) send(x, 200, "ok".getBytes(StandardCharsets.UTF_8), "text/plain");
        else notFound(x);
    }

    static void notFound(HttpExchange x) throws IOException {
        send(x, 404, errorJson("NotFound", "no route " + x.getRequestMethod() + " " + x.getRequestURI().getPath(), List.of()), "application/json");
    }

    static byte[] drain(HttpExchange x) throws IOException {
        try (InputStream in = x.getRequestBody()) {
            return in.readAllBytes();
        }
    }

    static void init(HttpExchange x) throws IOException {
        byte[] body = drain(x);
        if (!x.getRequestURI().getPath().equals("/init") || !x.getRequestMethod().equals("POST")) {
            notFound(x);
            return;
        }
        synchronized (INIT_LOCK) {
            if (!phase.equals("new")) {
                send(x, 409, errorJson("AlreadyInitialized", "/init was already called (the function is " + phase + ")", List.of()), "application/json");
                return;
            }
            phase = "initializing";
        }
        try {
            JsonNode req;
            try {
                req = JSON.readTree(body.length == 0 ? "{}".getBytes(StandardCharsets.UTF_8) : body);
            } catch (IOException e) {
                throw new InitFailure("the /init body is not JSON: " + e.getMessage(), null);
            }
            load(req);
            phase = "ready";
            send(x, 200, "{\"ok\":true}".getBytes(StandardCharsets.UTF_8), "application/json");
        } catch (InitFailure e) {
            phase = "failed";
            initError = e.getMessage();
            send(x, 400, errorJson("InitError", e.getMessage(), e.stack), "application/json");
        } catch (Throwable t) {
            phase = "failed";
            initError = describe(t);
            send(x, 400, errorJson("InitError", "cannot load the function: " + initError, stackOf(t)), "application/json");
        }
    }

    static void invoke(HttpExchange x) throws IOException {
        byte[] body = drain(x);
        if (!x.getRequestURI().getPath().equals("/invoke") || !x.getRequestMethod().equals("POST")) {
            notFound(x);
            return;
        }
        if (!phase.equals("ready")) {
            String why = phase.equals("failed") ? ": " + initError : "";
            send(x, 409, errorJson("NotInitialized", "the function is not initialized (" + phase + ")" + why, List.of()), "application/json");
            return;
        }
        Answer a = invoke(body, x.getRequestHeaders());
        byte[] all = new byte[a.logs().length + a.payload().length];
        System.arraycopy(a.logs(), 0, all, 0, a.logs().length);
        System.arraycopy(a.payload(), 0, all, a.logs().length, a.payload().length);
        send(x, 200, all, a.contentType(), "X-Hearth-Outcome", a.outcome(), "X-Hearth-Log-Bytes", String.valueOf(a.logs().length));
    }

    interface Route {
        void handle(HttpExchange x) throws IOException;
    }

    static void route(HttpServer server, String path, Route r) {
        server.createContext(path, x -> {
            try {
                r.handle(x);
            } catch (Throwable t) {
                REAL_ERR.println("hearth bootstrap: error serving " + path + ": " + t);
                x.close();
            }
        });
    }

    static HttpServer start(String host, int port) throws IOException {
        AtomicInteger n = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 128);
        route(server, "/health", Bootstrap::health);
        route(server, "/init", Bootstrap::init);
        route(server, "/invoke", Bootstrap::invoke);
        route(server, "/", x -> {
            drain(x);
            notFound(x);
        });
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new ServerThread(r, "hearth-call-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return server;
    }

    public static void main(String[] args) throws Exception {
        // Before the HTTP server's classes load: no Nagle delay on answers, and keep-alive
        // connections are not closed under the host's pool (it closes idle ones itself).
        System.setProperty("sun.net.httpserver.nodelay", "true");
        System.setProperty("sun.net.httpserver.idleInterval", "3600");
        System.setOut(new PrintStream(new Router(0, REAL_OUT), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new Router(1, REAL_ERR), true, StandardCharsets.UTF_8));
        if (args.length > 0 && args[0].equals("--warmup")) {
            try {
                warmup();
            } catch (Throwable t) {
                t.printStackTrace(REAL_ERR);
                System.exit(1);
            }
            System.exit(0);
        }
        int port = Integer.parseInt(System.getenv().getOrDefault("HEARTH_BOOTSTRAP_PORT", "9000"));
        start("0.0.0.0", port);
        REAL_ERR.println("hearth java bootstrap listening on :" + port);
        Thread primer = new ServerThread(Bootstrap::prime, "hearth-prime");
        primer.setDaemon(true);
        primer.setPriority(Thread.MIN_PRIORITY);
        primer.start();
    }

    /**
     * While the container waits for /init: the call path once (decode, convert, encode, logs,
     * errors, reflection), so that the first call does not build Jackson's caches. Classes are in
     * the CDS archive already; this is about their first run.
     */
    static void prime() {
        try {
            Map<String, Object> event = Map.of("a", 1, "b", List.of("x", 2.5, true), "c", Map.of("d", "e"));
            JavaType mapType = JSON.getTypeFactory().constructType(Map.class);
            for (ObjectMapper m : new ObjectMapper[] {JSON, MSGPACK}) {
                JsonNode tree = m.readTree(m.writeValueAsBytes(event));
                Object back = JSON.convertValue(tree, mapType);
                m.writeValueAsBytes(back);
                JSON.convertValue(tree, JsonNode.class);
            }
            Method get = Map.class.getMethod("get", Object.class);
            for (int i = 0; i < 20; i++) get.invoke(event, "a");
            Capture c = new Capture();
            byte[] line = "prime\n".getBytes(StandardCharsets.UTF_8);
            c.write(0, line, 0, line.length);
            c.finish();
            errorJson("X", "y", stackOf(new IllegalStateException("prime")));
            new Context("r", "f", "v", 128, 3000, System.currentTimeMillis(), Map.of()).getRemainingTimeInMillis();
        } catch (Throwable t) {
            // only a speed-up
        }
    }

    // ------------------------------------------------------------------------------------------
    // Warm-up (image build): one of each request against itself, then exit

    /** The handler the warm-up loads (from the bootstrap's own jar). */
    public static final class Warmup {
        public Map<String, Object> handle(Map<String, Object> event, Context ctx) {
            System.out.println("warm-up " + event.keySet() + " " + ctx.getRequestId());
            System.err.println("warm-up stderr " + ctx.getRemainingTimeInMillis());
            Map<String, Object> out = new LinkedHashMap<>(event);
            out.put("env", Env.get("WARMUP"));
            if (event.containsKey("fail")) throw new IllegalStateException("warm-up failure");
            return out;
        }
    }

    static void warmup() throws Exception {
        codeDir = Files.createTempDirectory("hearth-warmup");
        HttpServer server = start("127.0.0.1", 0);
        int port = server.getAddress().getPort();
        Path self = Path.of(Bootstrap.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ObjectNode init = JSON.createObjectNode();
        init.put("functionName", "warmup").put("version", "$LATEST").put("handler", "hearth.Bootstrap$Warmup::handle")
            .put("timeoutMs", 3000).put("memoryMb", 128);
        init.putObject("code").put("jar", Base64.getEncoder().encodeToString(Files.readAllBytes(self)));
        init.putObject("env").put("WARMUP", "1");
        check(http(port, "GET", "/health", null, null, null), "200");
        check(http(port, "POST", "/init", JSON.writeValueAsBytes(init), "application/json", null), "200");
        Map<String, Object> event = Map.of("a", 1, "b", List.of("x", 2.5, true), "c", Map.of("d", "e"));
        for (int i = 0; i < 20; i++) {
            check(http(port, "POST", "/invoke", JSON.writeValueAsBytes(event), "application/json", "application/json"), "ok");
            check(http(port, "POST", "/invoke", MSGPACK.writeValueAsBytes(event), "application/msgpack", "application/msgpack"), "ok");
            check(http(port, "POST", "/invoke", "{\"fail\":1}".getBytes(StandardCharsets.UTF_8), "application/json", null), "error");
            check(http(port, "POST", "/invoke", "{".getBytes(StandardCharsets.UTF_8), "application/json", null), "bad-payload");
        }
        check(http(port, "POST", "/init", JSON.writeValueAsBytes(init), "application/json", null), "409");
        server.stop(0);
        try (Stream<Path> s = Files.walk(codeDir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        REAL_ERR.println("hearth java bootstrap: warm-up done");
    }

    static void check(String got, String want) {
        if (!got.contains(want)) throw new IllegalStateException("warm-up: expected " + want + ", got " + got);
    }

    /** A minimal HTTP/1.1 client (one request per connection): the whole answer. */
    static String http(int port, String method, String path, byte[] body, String type, String accept) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            StringBuilder h = new StringBuilder();
            h.append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
            h.append("X-Hearth-Request-Id: warmup\r\n");
            if (type != null) h.append("Content-Type: ").append(type).append("\r\n");
            if (accept != null) h.append("Accept: ").append(accept).append("\r\n");
            h.append("Content-Length: ").append(body == null ? 0 : body.length).append("\r\n\r\n");
            OutputStream o = s.getOutputStream();
            o.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
            if (body != null) o.write(body);
            o.flush();
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            return answer;
        }
    }
}
