package dev.kiln.autotune.db;

/** Why a measurement produced no costs; {@link #NONE} for a measurement that ran and checked out. */
public enum ErrorCode {
    NONE,
    /** The config does not fit the template (a split that does not divide, too much shared memory). */
    INVALID_CONFIG,
    /** Lowering, codegen or linking failed. */
    BUILD_ERROR,
    /** The kernel was built but could not be loaded or run (missing symbol, device refused it). */
    RUN_ERROR,
    /** The run took longer than the measurement's time limit. */
    TIMEOUT,
    /** The kernel ran but its output differs from the reference. */
    WRONG_ANSWER,
    /** The measuring process died (signal, out of memory). */
    CRASH,
    /** Anything the runner could not classify; the message says more. */
    UNKNOWN
}
