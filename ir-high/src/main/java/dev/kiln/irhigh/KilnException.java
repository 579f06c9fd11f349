package dev.kiln.irhigh;

/**
 * An error meant for the user: its message says what was being compiled and what to do.
 * The command line prints the message alone (no stack trace unless --verbose).
 */
public class KilnException extends RuntimeException {
    public KilnException(String message) {
        super(message);
    }

    public KilnException(String message, Throwable cause) {
        super(message, cause);
    }
}
