package dev.kiln.driver.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.autotune.db.PostgresCluster;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.db.WorkloadRecords;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.autotune.tune.TunedConfigs;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.GraphPipeline;
import dev.kiln.driver.Main;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.ops.Workload;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Target;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A team's database: three {@code kiln tune} processes (separate JVMs, as on three machines) tune
 * zoo:mlp into one PostgreSQL database at once, then {@code kiln compile --db} uses it. The
 * server's statement log is the witness of what each process sent: every record sent is in the
 * table exactly once, and nothing else is.
 */
class PostgresTuneEndToEndTest {
    private static final int TUNERS = 3;
    private static final int TRIALS = 9;

    @Test
    void threeTunersAtOnceRecordEveryMeasurementOnceAndCompileUsesTheBest(@TempDir Path dir) throws Exception {
        try (PostgresCluster server = PostgresCluster.startOrSkip()) {
            Target target = Target.host();
            String db = server.freshSchema();
            // A team database is prepared once, before its tuners start (PostgresTuningDatabaseTest has the race to prepare it).
            TuningDatabase.open(db).close();

            List<Process> tuners = new ArrayList<>();
            try {
                for (int i = 0; i < TUNERS; i++) tuners.add(tune(dir, i, db + "&ApplicationName=tuner-" + i, target));
                for (int i = 0; i < TUNERS; i++) {
                    Process p = tuners.get(i);
                    // A deadlock would show as a tuner that never ends, or one failed by PostgreSQL's detector.
                    assertTrue(p.waitFor(150, TimeUnit.SECONDS), "tuner " + i + " did not finish: " + output(dir, i));
                    assertEquals(0, p.exitValue(), "tuner " + i + " failed: " + output(dir, i));
                }
            } finally {
                for (Process p : tuners) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            }

            List<TaskExtractor.Task> tasks = TaskExtractor.fromModel("zoo:mlp", Map.of(), target, GraphPipeline.passes(target)).tasks();
            Map<String, String> runOf = recordsSentAndStored(server, db);
            Set<String> runs = new HashSet<>(runOf.values());
            assertEquals(TUNERS, runs.size(), "each tuner's records carry its own run id");
            try (TuningDatabase d = TuningDatabase.open(db)) {
                List<TuningRecord> all = d.all();
                assertEquals(runOf.size(), all.size());
                Set<String> trials = new HashSet<>();
                Map<String, Integer> trialsPerRun = new HashMap<>();
                for (TuningRecord r : all) {
                    assertTrue(runs.contains(r.runId()), r.runId());
                    if (!r.isTrial()) continue; // drift references and confirmations time the default or the best again
                    assertTrue(trials.add(r.runId() + " " + r.workloadKey() + " " + r.config() + " " + r.trial()),
                            "trial " + r.trial() + " of " + r.workloadKey() + " config " + r.config() + " recorded twice in run " + r.runId());
                    trialsPerRun.merge(r.runId(), 1, Integer::sum);
                }
                // Each tuner stops at --trials counting the database's trials when it started, so none
                // measures more than that, and together they measure at least that.
                for (String run : runs) assertTrue(trialsPerRun.getOrDefault(run, 0) <= TRIALS, run + ": " + trialsPerRun);
                assertTrue(TuneEndToEndTest.trials(d, "zoo:mlp", target) >= TRIALS, trialsPerRun.toString());
                for (TaskExtractor.Task t : tasks) assertFalse(d.records(target.name(), t.key()).isEmpty(), "no record of " + t.key());
            }

            compileUsesTheBestRecordOfEachKernel(db, target, runs, dir);
            // And so does kiln compile itself: every tunable kernel takes its record, or keeps its
            // default where the record did not beat the measured default by the margin.
            String summary = kilnCompile(db, target, dir.resolve("cli.so"));
            Matcher used = Pattern.compile("(\\d+) kernels? uses? tuned configs from tuning database jdbc:postgresql:").matcher(summary);
            Matcher kept = Pattern.compile("(\\d+) kernels? keeps? the default config").matcher(summary);
            assertTrue(used.find(), summary);
            assertEquals(tasks.size(), Integer.parseInt(used.group(1)) + (kept.find() ? Integer.parseInt(kept.group(1)) : 0), summary);
            assertFalse(summary.contains("on default configs"), summary);
        }
    }

    /** Starts {@code kiln tune zoo:mlp} in a JVM of its own, its output in {@code dir}. */
    private static Process tune(Path dir, int i, String db, Target target) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        return new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "tune", "zoo:mlp", "--target", target.name(), "--db", db, "--trials", Integer.toString(TRIALS),
                "--tuner", "random", "--seed", Integer.toString(i), "--no-end-to-end", "--min-repeat-ms", "1",
                "--plot", dir.resolve("tuner-" + i + ".png").toString())
                .redirectOutput(dir.resolve("tuner-" + i + ".out").toFile())
                .redirectError(dir.resolve("tuner-" + i + ".err").toFile())
                .start();
    }

    private static String output(Path dir, int i) throws IOException {
        return Files.readString(dir.resolve("tuner-" + i + ".out")) + Files.readString(dir.resolve("tuner-" + i + ".err"));
    }

    // The server logs each INSERT with its parameters in one entry; $1 is the record key.
    private static final Pattern SENT = Pattern.compile(
            "\\] (tuner-\\d+): LOG:  execute [^:]*: INSERT INTO tuning_records [^\\n]*\\n[^\\n]*DETAIL:  parameters: \\$1 = '([0-9a-f]{64})'");

    /**
     * Compares what each tuner sent (the server's log of its INSERTs) with what the table holds:
     * each record sent is stored once, nothing else is stored, and one tuner's records are one
     * run. Returns each stored record key's run id. Where the server is not ours (no log), only
     * the table is read.
     */
    private static Map<String, String> recordsSentAndStored(PostgresCluster server, String db) throws Exception {
        Map<String, String> runOf = new LinkedHashMap<>();
        try (Connection c = DriverManager.getConnection(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT record_key, run_id FROM tuning_records ORDER BY id")) {
            while (rs.next()) assertEquals(null, runOf.put(rs.getString(1), rs.getString(2)), "record key stored twice");
        }
        Optional<Path> log = server.log();
        if (log.isEmpty()) return runOf;
        Map<String, List<String>> sent = new HashMap<>();
        Matcher m = SENT.matcher(Files.readString(log.get(), StandardCharsets.UTF_8));
        while (m.find()) sent.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(m.group(2));
        assertEquals(TUNERS, sent.size(), "tuners whose INSERTs the server logged: " + sent.keySet());
        Set<String> allSent = new HashSet<>();
        Set<String> runs = new HashSet<>();
        for (var e : sent.entrySet()) {
            Set<String> ofTuner = new HashSet<>();
            for (String key : e.getValue()) {
                assertTrue(ofTuner.add(key) && allSent.add(key), e.getKey() + " sent record " + key + " twice");
                assertTrue(runOf.containsKey(key), e.getKey() + " sent record " + key + ", which is not in the table");
            }
            Set<String> runIds = new HashSet<>();
            for (String key : ofTuner) runIds.add(runOf.get(key));
            assertEquals(1, runIds.size(), e.getKey() + "'s records belong to runs " + runIds);
            assertTrue(runs.addAll(runIds), "two tuners wrote run " + runIds);
        }
        assertEquals(allSent, runOf.keySet(), "records in the table that no tuner sent");
        return runOf;
    }

    /**
     * Compiles zoo:mlp with the database's configs ({@link TunedConfigs}, what kiln compile --db
     * uses) and checks each tunable kernel's schedule: the config of its workload's best record
     * over all three runs ({@link WorkloadRecords#best}), or the default where that record did
     * not beat the measured default by the margin.
     */
    private static void compileUsesTheBestRecordOfEachKernel(String db, Target target, Set<String> runs, Path dir) {
        try (TuningDatabase d = TuningDatabase.open(db)) {
            TunedConfigs tuned = new TunedConfigs(d);
            Map<String, List<Knobs>> knobs = new LinkedHashMap<>();
            Map<String, String> workload = new HashMap<>();
            Map<String, Config> defaults = new HashMap<>();
            Compiler.compile("zoo:mlp", dir.resolve("api.so"), new Compiler.Options(target, Map.of(), null, false, (node, graph, t) -> {
                Knobs k = tuned.knobsFor(node, graph, t);
                if (OpInventory.space(node, graph, t).size() > 1) {
                    knobs.computeIfAbsent(node.name(), n -> new ArrayList<>()).add(k);
                    workload.put(node.name(), Workload.of(node, graph, t).key());
                    defaults.put(node.name(), OpInventory.space(node, graph, t).defaults());
                }
                return k;
            }));
            assertEquals(List.of(), tuned.warnings());
            assertFalse(knobs.isEmpty(), "no tunable kernel in zoo:mlp");
            Set<String> onRecords = new HashSet<>(tuned.tunedKernels());
            Set<String> onDefaults = new HashSet<>(tuned.keptDefaultKernels());
            assertEquals(knobs.keySet(), union(onRecords, onDefaults), "kernels without a record");
            for (var e : knobs.entrySet()) {
                String node = e.getKey();
                TuningRecord best = new WorkloadRecords(d.records(target.name(), workload.get(node)), defaults.get(node).toString())
                        .best().orElseThrow();
                assertTrue(runs.contains(best.runId()), best.runId());
                Config expected = onRecords.contains(node) ? Config.parse(best.config()) : defaults.get(node);
                for (Knobs k : e.getValue())
                    assertEquals(expected, k.config(), "kernel " + node + " of " + workload.get(node) + " (best record: " + best.config()
                            + " of run " + best.runId() + ", " + (onRecords.contains(node) ? "used" : "kept the default") + ")");
            }
        }
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new HashSet<>(a);
        u.addAll(b);
        return u;
    }

    /** {@code kiln compile zoo:mlp --db URL}; returns what it printed. */
    private static String kilnCompile(String db, Target target, Path out) {
        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        int code;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                    "compile", "zoo:mlp", "--target", target.name(), "--db", db, "-o", out.toString());
        } finally {
            System.setOut(saved);
        }
        assertEquals(0, code, err.toString());
        return captured.toString(StandardCharsets.UTF_8);
    }
}
