package dev.kiln.autotune.runner;

/**
 * The runner itself failed (cannot start, cannot be reached, refuses this tuner's token or
 * certificate, refuses a request as too large, speaks another protocol version).
 */
public final class RunnerException extends RuntimeException {
    public RunnerException(String message) {
        super(message);
    }

    public RunnerException(String message, Throwable cause) {
        super(message, cause);
    }
}
