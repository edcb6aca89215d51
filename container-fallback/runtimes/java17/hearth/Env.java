package hearth;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * The function's environment variables.
 *
 * <p>A JVM's process environment ({@link System#getenv()}) is fixed when it starts, and the
 * container's JVM starts before it knows which function it will run: the function's env (its
 * spec's {@code env}, sent at load time) is therefore not in {@code System.getenv()}. Read it here
 * ({@code hearth.Env.get("NAME")}, which falls back to the process environment) or through
 * {@link Context#getEnv()}.
 */
public final class Env {
    private static volatile Map<String, String> vars = Collections.emptyMap();

    private Env() {}

    /** The variable's value: the function's env first, then the process environment; null if unset. */
    public static String get(String name) {
        String v = vars.get(name);
        return v != null ? v : System.getenv(name);
    }

    /** The variable's value, or {@code fallback} when it is unset. */
    public static String get(String name, String fallback) {
        String v = get(name);
        return v != null ? v : fallback;
    }

    /** The function's env and the process environment together (the function's env wins). */
    public static Map<String, String> all() {
        Map<String, String> all = new HashMap<>(System.getenv());
        all.putAll(vars);
        return Collections.unmodifiableMap(all);
    }

    /** The function's env alone. */
    public static Map<String, String> function() {
        return vars;
    }

    /** Set once by the bootstrap when it loads the function. */
    static void init(Map<String, String> env) {
        vars = Collections.unmodifiableMap(new HashMap<>(env));
    }
}
