package hearth;

import java.util.Collections;
import java.util.Map;

/**
 * What a Java handler learns about its call: {@code (T event, hearth.Context ctx)}.
 *
 * <p>Ships in {@code /opt/hearth/hearth-runtime.jar} in the java17 runtime image: compile functions
 * against it (it is on the runtime's class path, so do not bundle it into the function's jar).
 */
public final class Context {
    private final String requestId;
    private final String functionName;
    private final String functionVersion;
    private final int memoryLimitInMb;
    private final int timeLimitInMs;
    private final long deadlineMs;
    private final Map<String, String> env;

    public Context(String requestId, String functionName, String functionVersion, int memoryLimitInMb,
                   int timeLimitInMs, long deadlineMs, Map<String, String> env) {
        this.requestId = requestId;
        this.functionName = functionName;
        this.functionVersion = functionVersion;
        this.memoryLimitInMb = memoryLimitInMb;
        this.timeLimitInMs = timeLimitInMs;
        this.deadlineMs = deadlineMs;
        this.env = env == null ? Collections.emptyMap() : Collections.unmodifiableMap(env);
    }

    /** This call's id (the X-Hearth-Request-Id the caller got). */
    public String getRequestId() { return requestId; }

    /** Same as {@link #getRequestId()}, for code written for AWS Lambda. */
    public String getAwsRequestId() { return requestId; }

    public String getFunctionName() { return functionName; }

    public String getFunctionVersion() { return functionVersion; }

    public int getMemoryLimitInMb() { return memoryLimitInMb; }

    /** The function's timeout, in ms. */
    public int getTimeLimitInMs() { return timeLimitInMs; }

    /** Time left before the call's deadline, in ms (0 when it has passed). */
    public int getRemainingTimeInMillis() {
        long left = deadlineMs - System.currentTimeMillis();
        return left <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, left);
    }

    /** The deadline, in epoch ms. */
    public long getDeadlineMs() { return deadlineMs; }

    /**
     * The function's environment variables (its spec's env). They are NOT in
     * {@link System#getenv()}: a JVM's process environment cannot change after it starts, and the
     * container starts before it knows which function it will run. Use this or {@link Env#get}.
     */
    public Map<String, String> getEnv() { return env; }

    @Override
    public String toString() {
        return "Context{requestId=" + requestId + ", functionName=" + functionName + ", functionVersion=" + functionVersion
            + ", memoryLimitInMb=" + memoryLimitInMb + ", timeLimitInMs=" + timeLimitInMs + "}";
    }
}
