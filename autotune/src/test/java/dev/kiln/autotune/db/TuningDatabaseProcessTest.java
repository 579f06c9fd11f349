package dev.kiln.autotune.db;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real processes on one SQLite file: a kill -9 loses no committed record, two writers lose none. */
class TuningDatabaseProcessTest {
    @TempDir
    Path dir;

    @Test
    void aKilledTunerLosesNoRecordItReportedCommitted() throws Exception {
        String url = "jdbc:sqlite:" + dir.resolve("kill.db");
        Process child = appendLoop(url, "killed", 0);
        long reported = 0;
        try (BufferedReader out = reader(child)) {
            String line;
            while ((line = out.readLine()) != null) {
                reported = Long.parseLong(line.substring("committed ".length()));
                if (reported >= 40) break;
            }
            // SIGKILL mid-loop: it is most likely inside the next append right now. Killing closes
            // our end of its stdout, so what it printed after this point is not counted.
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child did not die");
        }
        assertTrue(reported >= 40, "child committed only " + reported + " records; stderr: " + stderr());

        try (TuningDatabase db = TuningDatabase.open(url)) {
            List<TuningRecord> records = db.records("x86_64-avx2", "matmul-killed");
            Set<Long> trials = new HashSet<>();
            for (TuningRecord r : records) trials.add(r.trial());
            for (long i = 0; i < reported; i++)
                assertTrue(trials.contains(i), "record " + i + " was reported committed but is gone");
            // It may have committed a few more before the kill (its reports were still in the pipe),
            // but what is there is whole: trials 0..n-1, each once, in order, nothing torn.
            assertEquals(records.size(), trials.size(), "a trial stored twice");
            for (long i = 0; i < records.size(); i++) assertTrue(trials.contains(i), "trial " + i + " missing among " + trials);
            // The database still takes appends after the crash.
            assertTrue(db.append(Records.ok("x86_64-avx2", "matmul-killed", "after", 1e-3, 0)));
        }
    }

    @Test
    void twoProcessesAppendingToOneFileLoseNothing() throws Exception {
        String url = "jdbc:sqlite:" + dir.resolve("shared.db");
        int each = 150;
        // Both start on a file that does not exist yet, so they also race to create the schema.
        List<Process> children = new ArrayList<>();
        for (String run : List.of("left", "right")) children.add(appendLoop(url, run, each));
        for (Process child : children) {
            try (BufferedReader out = reader(child)) {
                while (out.readLine() != null) {
                    // Drain, so a full pipe never blocks the child.
                }
            }
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not finish");
            assertEquals(0, child.exitValue(), "child failed: " + stderr());
        }
        try (TuningDatabase db = TuningDatabase.open(url)) {
            assertEquals(2L * each, db.count());
            for (String run : List.of("left", "right")) {
                List<TuningRecord> records = db.records("x86_64-avx2", "matmul-" + run);
                assertEquals(each, records.size());
                for (int i = 0; i < each; i++) assertEquals(i, records.get(i).trial());
            }
        }
    }

    private Process appendLoop(String url, String runId, long count) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        return new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), AppendLoop.class.getName(),
                url, runId, Long.toString(count))
                .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("stderr.txt").toFile()))
                .start();
    }

    private static BufferedReader reader(Process p) {
        return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    }

    private String stderr() throws IOException {
        Path f = dir.resolve("stderr.txt");
        return Files.exists(f) ? Files.readString(f) : "";
    }
}
