package dev.kiln.targets;

/** A user-facing error about a target or a compiled artifact: the message says what to do. */
public class TargetException extends RuntimeException {
    public TargetException(String message) {
        super(message);
    }

    public TargetException(String message, Throwable cause) {
        super(message, cause);
    }
}
