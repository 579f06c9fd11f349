package dev.kiln.autotune.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.PostgresCluster;
import dev.kiln.autotune.db.Provenance;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.runner.FakeCandidates;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.TensorData;
import dev.kiln.autotune.tune.Candidate;
import dev.kiln.autotune.tune.CandidateRunner;
import dev.kiln.autotune.tune.RecordTemplate;
import dev.kiln.schedules.space.Config;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet against a real PostgreSQL server and real board processes: every job is done once and
 * recorded once, however the boards share them; a board killed with kill -9 loses its job to
 * another board, and a second board's failure makes an error record naming both; a restart of
 * the server in the middle loses nothing; the jobs of a tuner that died are never taken.
 */
class FleetTest {
    /** Short leases, so that a killed board's job comes back in seconds. */
    private static final FleetSettings FAST = new FleetSettings(1_000, 4, 30, 120_000);
    private static final String KEY = "testboard";

    private static PostgresCluster server;
    @TempDir
    static Path dir;
    private final List<Process> boards = new ArrayList<>();

    private static synchronized PostgresCluster server() {
        if (server == null) server = PostgresCluster.startOrSkip();
        return server;
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    @Test
    void twoBoardsShareTheJobsAndARestartOfTheServerLosesNone() throws Exception {
        assumeTrue(FakeCandidates.haveCompiler(), "no C compiler (cc) for the test's candidate libraries");
        String url = server().freshSchema();
        byte[] good = FakeCandidates.build(dir, "");
        startBoard(url, "board-a");
        startBoard(url, "board-b");
        waitFor(() -> liveBoards(url) == 2, 60, "two boards registered");
        int jobs = 16;
        try (FleetRunner fleet = FleetRunner.open(url, KEY, FAST); TuningDatabase db = TuningDatabase.open(url)) {
            assertEquals(2, fleet.parallelism());
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<CandidateRunner.Measurement>> results = new ArrayList<>();
            List<RecordTemplate> templates = new ArrayList<>();
            for (int i = 0; i < jobs; i++) {
                RecordTemplate t = template(i);
                templates.add(t);
                MeasureRequest req = request("c" + i, 10_000);
                results.add(pool.submit(() -> fleet.measure(candidate(i(t), good), req, t)));
            }
            waitFor(() -> count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE state = 'done'") >= 3, 120, "three jobs done");
            server().restart();
            for (int i = 0; i < jobs; i++) {
                CandidateRunner.Measurement m = results.get(i).get(180, TimeUnit.SECONDS);
                assertEquals(MeasureResult.Status.OK, m.result().getStatus(), m.result().getError());
                // The tuning loop appends the record the board wrote: an exact duplicate, not stored again.
                assertFalse(db.append(templates.get(i).complete(m)), "the board did not write the record of job " + i);
            }
            pool.shutdownNow();
        }
        assertEquals(jobs, count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE state = 'done'"));
        assertEquals(jobs, count(url, "SELECT COUNT(*) FROM tuning_records"));
        assertEquals(jobs, count(url, "SELECT COUNT(DISTINCT config) FROM tuning_records"));
        assertEquals(2, count(url, "SELECT COUNT(DISTINCT board) FROM fleet_jobs"), "SKIP LOCKED let both boards work");
        assertEquals(jobs, count(url, "SELECT SUM(jobs_done) FROM fleet_boards"));
    }

    @Test
    void aKilledBoardsJobGoesToAnotherAndASecondFailureIsAnErrorRecord() throws Exception {
        assumeTrue(FakeCandidates.haveCompiler(), "no C compiler (cc) for the test's candidate libraries");
        String url = server().freshSchema();
        byte[] hang = FakeCandidates.build(dir, "HANG");
        Process a = startBoard(url, "board-a");
        waitFor(() -> liveBoards(url) == 1, 60, "board a registered");
        try (FleetRunner fleet = FleetRunner.open(url, KEY, FAST)) {
            RecordTemplate t = template(0);
            Future<CandidateRunner.Measurement> result = Executors.newSingleThreadExecutor()
                    .submit(() -> fleet.measure(candidate(0, hang), request("hang", 8_000), t));
            waitFor(() -> count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE state = 'leased' AND board = 'board-a'") == 1, 60, "a took the job");
            startBoard(url, "board-b");
            waitFor(() -> liveBoards(url) == 2, 60, "board b registered");
            a.destroyForcibly(); // kill -9, mid-measurement
            CandidateRunner.Measurement m = result.get(180, TimeUnit.SECONDS);
            assertEquals(MeasureResult.Status.TIMEOUT, m.result().getStatus(), m.result().getError());
            assertTrue(m.result().getError().contains("board-a") && m.result().getError().contains("board-b"), m.result().getError());
        }
        try (TuningDatabase db = TuningDatabase.open(url)) {
            List<TuningRecord> all = db.all();
            assertEquals(1, all.size());
            assertEquals(ErrorCode.TIMEOUT, all.getFirst().errorCode());
            assertTrue(all.getFirst().errorMessage().contains("failed on 2 boards"), all.getFirst().errorMessage());
        }
        assertEquals(1, count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE state = 'done' AND attempts = 2"));
    }

    @Test
    void jobsOfATunerThatDiedExpireAndAreNeverTaken() throws Exception {
        assumeTrue(FakeCandidates.haveCompiler(), "no C compiler (cc) for the test's candidate libraries");
        String url = server().freshSchema();
        byte[] good = FakeCandidates.build(dir, "");
        try (TuningDatabase ignored = TuningDatabase.open(url); Connection c = DriverManager.getConnection(url)) {
            Broker.createSchema(c);
            // A tuner that queued a job and died: nobody extends its expiry of one second.
            Broker.submit(c, KEY, "dead-run", "dead-run/1", Fleet.LIBRARY, CandidateBytes.write(candidate(0, good)),
                    request("orphan", 10_000).toByteArray(), template(0).toJson(), 1);
        }
        Thread.sleep(1_500);
        startBoard(url, "board-a");
        waitFor(() -> liveBoards(url) == 1, 60, "board a registered");
        Thread.sleep(4_000); // several of the board's polls
        assertEquals(1, count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE state = 'queued'"));
        assertEquals(0, count(url, "SELECT COUNT(*) FROM tuning_records"));
    }

    @Test
    void aTunerWithoutBoardsSaysWhatToStart() {
        String url = server().freshSchema();
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.kiln.irhigh.KilnException.class, () -> FleetRunner.open(url, KEY, FAST));
        assertTrue(e.getMessage().contains("kiln runner --broker URL --key " + KEY) && e.getMessage().contains("kiln boards"), e.getMessage());
        var sqlite = org.junit.jupiter.api.Assertions.assertThrows(dev.kiln.irhigh.KilnException.class,
                () -> FleetRunner.open("jdbc:sqlite:" + dir.resolve("x.db"), KEY, FAST));
        assertTrue(sqlite.getMessage().contains("PostgreSQL"), sqlite.getMessage());
    }

    @org.junit.jupiter.api.AfterEach
    void killBoards() {
        for (Process p : boards) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    // ---- helpers ----

    private Process startBoard(String url, String name) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), BoardMain.class.getName(), url, KEY, "host", name)
                .redirectErrorStream(true).redirectOutput(dir.resolve(name + "-" + System.nanoTime() + ".log").toFile());
        pb.environment().put("KILN_FLEET_LEASE_S", Long.toString(FAST.leaseS()));
        Process p = pb.start();
        boards.add(p);
        return p;
    }

    private static int i(RecordTemplate t) {
        return (int) t.base().trial();
    }

    private static Candidate candidate(int i, byte[] library) {
        return new Candidate(Config.parse("tile=" + i), library, null, "split tile " + i, ErrorCode.NONE, null);
    }

    private static RecordTemplate template(int i) {
        TuningRecord base = new TuningRecord(Target.host().name(), "add_64x64", "add 64x64", "tile=" + i, "split tile " + i, List.of(),
                ErrorCode.UNKNOWN, "pending", 4096, java.time.Instant.EPOCH, "0.1.0", "", "random", i, "run-1", "threads=0,cache=warm", 0,
                Provenance.NONE);
        return new RecordTemplate(base, false);
    }

    private static MeasureRequest request(String id, long timeoutMs) {
        return MeasureRequest.newBuilder().setCandidateId(id).setTimeoutMs(timeoutMs).setRepeat(3).setWarmup(1)
                .addInputs(TensorData.newBuilder().setSeed(1)).addInputs(TensorData.newBuilder().setSeed(2)).build();
    }

    private static long liveBoards(String url) {
        return count(url, "SELECT COUNT(*) FROM fleet_boards WHERE heartbeat > now() - interval '4 seconds'");
    }

    private static long count(String url, String sql) {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            return -1; // the tables are not there yet, or the server is restarting
        }
    }

    private static void waitFor(BooleanSupplier condition, int seconds, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(200);
        }
    }

    static {
        Map.of(); Set.of(); new HashSet<>(); Files.class.getName(); ByteString.EMPTY.size();
    }
}
