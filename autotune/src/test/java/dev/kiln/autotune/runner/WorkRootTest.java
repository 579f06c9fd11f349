package dev.kiln.autotune.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;

/** A runner's directory: private, wiped on close, and wiped at the next start if its runner was killed. */
class WorkRootTest {
    @Test
    void sessionsArePrivateAndTheRootIsWipedOnClose() throws Exception {
        WorkRoot root = WorkRoot.create();
        Path s = root.newSession(7);
        assertEquals("session-7", s.getFileName().toString());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.dir())));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(s)));
        Files.writeString(s.resolve("candidate.so"), "x");
        assertEquals(s, WorkRoot.session(root.dir(), "session-7"));
        for (String bad : new String[] {"../x", "session-7/..", "session-8", "", null})
            assertThrows(IllegalArgumentException.class, () -> WorkRoot.session(root.dir(), bad), String.valueOf(bad));
        root.close();
        assertFalse(Files.exists(root.dir()));
    }

    @Test
    void theRootOfAKilledRunnerIsRemovedAtTheNextStart() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        Path abandoned = Files.createTempDirectory(tmp, WorkRoot.PREFIX);
        Files.writeString(abandoned.resolve("owner.pid"), Long.toString(gone.pid()));
        Files.createDirectories(abandoned.resolve("session-1"));
        Files.writeString(abandoned.resolve("session-1/candidate.so"), "x");
        Path alive = Files.createTempDirectory(tmp, WorkRoot.PREFIX);
        Files.writeString(alive.resolve("owner.pid"), Long.toString(ProcessHandle.current().pid()));
        try (WorkRoot fresh = WorkRoot.create()) {
            assertFalse(Files.exists(abandoned), "the root of a dead runner is still there");
            assertTrue(Files.exists(alive), "the root of a live runner was removed");
            assertTrue(Files.isDirectory(fresh.dir()));
        } finally {
            WorkRoot.delete(alive);
            WorkRoot.delete(abandoned);
        }
    }
}
