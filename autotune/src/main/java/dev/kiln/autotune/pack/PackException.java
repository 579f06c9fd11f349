package dev.kiln.autotune.pack;

import dev.kiln.irhigh.KilnException;

/** A pack that cannot be read, written or imported; the message says what failed and what to do. */
public final class PackException extends KilnException {
    public PackException(String message) {
        super(message);
    }

    public PackException(String message, Throwable cause) {
        super(message, cause);
    }
}
