package dev.kiln.autotune.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.autotune.runner.proto.MeasureResult.Status;
import org.junit.jupiter.api.Test;

/** How a program runner reads a failed run and where it finds a program's outputs. */
class ProgramRunnerTest {
    @Test
    void failuresBecomeStatuses() {
        assertEquals(Status.TIMEOUT, ProgramRunner.status("qemu-aarch64 -cpu max /tmp/p did not finish in 200 s"));
        assertEquals(Status.CRASH, ProgramRunner.status("the program failed (exit 139): qemu: uncaught target signal 11"));
        assertEquals(Status.RUN_ERROR, ProgramRunner.status("the program failed (exit 1): kiln: error: out of memory"));
        assertEquals(Status.RUN_ERROR, ProgramRunner.status("/tmp/p printed no timing line:\n"));
    }
}
