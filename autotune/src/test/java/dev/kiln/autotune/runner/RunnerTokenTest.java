package dev.kiln.autotune.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Token files: read without their newline; empty, weak, unprintable or shared ones refused with what to do. */
class RunnerTokenTest {
    @TempDir
    Path dir;

    @Test
    void aPrivateFileIsReadWithoutItsNewline() throws Exception {
        RunnerToken t = RunnerToken.fromFile(file("good", "0123456789abcdef-xyz\n", "rw-------"));
        assertEquals("0123456789abcdef-xyz", t.value());
        assertTrue(t.matches("0123456789abcdef-xyz"));
        assertFalse(t.matches("0123456789abcdef-xyy"));
        assertFalse(t.matches("0123456789abcdef-xyz\n"));
        assertFalse(t.matches(null));
        assertFalse(t.toString().contains("0123"), "a token must not print");
        assertTrue(RunnerToken.fromFile(file("crlf", "0123456789abcdef-xyz\r\n", "r--------")).matches("0123456789abcdef-xyz"));
    }

    @Test
    void badTokenFilesAreRefusedWithWhatToDo() throws Exception {
        assertRefused(file("empty", "\n", "rw-------"), "is empty", "head -c 32 /dev/urandom");
        assertRefused(file("short", "secret\n", "rw-------"), "6 characters, too weak", "at least 16");
        assertRefused(file("spaces", "correct horse battery staple\n", "rw-------"), "not printable ASCII");
        assertRefused(file("shared", "0123456789abcdef-xyz\n", "rw-r--r--"), "other users", "chmod 600");
        assertRefused(file("group", "0123456789abcdef-xyz\n", "rw-r-----"), "other users", "chmod 600");
        assertRefused(dir.resolve("missing"), "does not exist");
    }

    @Test
    void randomTokensDiffer() {
        RunnerToken a = RunnerToken.random(), b = RunnerToken.random();
        assertNotEquals(a.value(), b.value());
        assertTrue(a.value().length() >= RunnerToken.MIN_LENGTH);
        assertFalse(a.matches(b.value()));
    }

    private Path file(String name, String text, String perms) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    private static void assertRefused(Path f, String... words) {
        RunnerException e = assertThrows(RunnerException.class, () -> RunnerToken.fromFile(f));
        for (String w : words) assertTrue(e.getMessage().contains(w), e.getMessage());
    }
}
