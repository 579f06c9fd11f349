package dev.kiln.autotune.runner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * The shared secret a runner and its tuners present to each other. It comes from a file
 * ({@code --token-file}) or the environment ({@value #ENV}), never from a command line, where any
 * user of the machine could read it. A token file must be readable by its owner alone, as ssh
 * insists for private keys: a token others can read is no secret.
 */
public final class RunnerToken {
    /** The environment variable that holds a token where no {@code --token-file} is given. */
    public static final String ENV = "KILN_RUNNER_TOKEN";
    /** Shorter tokens are refused: a runner executes what it is sent, so the token must not be guessable. */
    public static final int MIN_LENGTH = 16;
    /** How to make a good token file, for error messages. */
    public static final String HOW_TO_MAKE = "make one with: (umask 077; head -c 32 /dev/urandom | base64 > runner.token)";

    private final String value;
    private final byte[] digest;

    private RunnerToken(String value) {
        this.value = value;
        this.digest = sha256(value);
    }

    /** Reads {@code file}: its text without the trailing newline, checked for strength and privacy. */
    public static RunnerToken fromFile(Path file) {
        if (!Files.isRegularFile(file)) throw new RunnerException("token file " + file + " does not exist; " + HOW_TO_MAKE);
        checkPrivate(file, "token file");
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new RunnerException("cannot read token file " + file + ": " + e.getMessage(), e);
        }
        return of(text.replaceAll("[\\r\\n]+$", ""), "token file " + file);
    }

    /** The token in {@value #ENV}, if it is set. */
    public static Optional<RunnerToken> fromEnvironment() {
        String v = System.getenv(ENV);
        return v == null ? Optional.empty() : Optional.of(of(v.strip(), "$" + ENV));
    }

    /** {@code file} if given, else {@value #ENV} if set, else none. */
    public static Optional<RunnerToken> fromFileOrEnvironment(Path file) {
        return file != null ? Optional.of(fromFile(file)) : fromEnvironment();
    }

    /** A fresh random token, for a worker process only its parent may talk to. */
    public static RunnerToken random() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return new RunnerToken(Base64.getUrlEncoder().withoutPadding().encodeToString(b));
    }

    /** Checks {@code value} (from {@code source}, for messages): long enough, printable ASCII without spaces. */
    static RunnerToken of(String value, String source) {
        if (value.isEmpty()) throw new RunnerException(source + " is empty; " + HOW_TO_MAKE);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x21 || c > 0x7e)
                throw new RunnerException(source + " holds a character that is not printable ASCII (at " + i
                        + "): a token travels in a header, so it must be one word of printable ASCII; " + HOW_TO_MAKE);
        }
        if (value.length() < MIN_LENGTH)
            throw new RunnerException(source + " holds a token of " + value.length() + " characters, too weak: at least "
                    + MIN_LENGTH + " are needed; " + HOW_TO_MAKE);
        return new RunnerToken(value);
    }

    /**
     * Refuses a secret file that group or others may read or write (a file system without POSIX
     * permissions is not checked).
     */
    static void checkPrivate(Path file, String what) {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) return;
        Set<PosixFilePermission> perms;
        try {
            perms = view.readAttributes().permissions();
        } catch (IOException e) {
            throw new RunnerException("cannot read the permissions of " + what + " " + file + ": " + e.getMessage(), e);
        }
        Set<PosixFilePermission> open = EnumSet.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);
        open.retainAll(perms);
        if (!open.isEmpty())
            throw new RunnerException(what + " " + file + " can be read or written by other users (" + open.size()
                    + " group/other permissions set): a secret must be its owner's alone; run: chmod 600 " + file);
    }

    /** The token, for the header that carries it; never printed. */
    String value() {
        return value;
    }

    /** Whether {@code presented} is this token, in time that does not depend on where they differ. */
    boolean matches(String presented) {
        return presented != null && MessageDigest.isEqual(digest, sha256(presented));
    }

    @Override
    public String toString() {
        return "RunnerToken[hidden]";
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
