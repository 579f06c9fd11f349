package dev.kiln.autotune.db;

/**
 * A tuning database could not be opened, read or written. The message says which database (URL
 * or file, password removed) failed, why, and what the user can do.
 */
public final class TuningDbException extends RuntimeException {
    public TuningDbException(String message) {
        super(message);
    }

    public TuningDbException(String message, Throwable cause) {
        super(message, cause);
    }
}
