package dev.kiln.autotune.runner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.Expected;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.MeasureResult.Status;
import dev.kiln.autotune.runner.proto.TensorData;
import java.util.List;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner measures in a child process and survives candidates that crash, hang or are not libraries. */
class LocalRunnerTest {
    @TempDir
    static Path dir;
    static byte[] good;
    static byte[] wrong;
    static byte[] crash;
    static byte[] hang;
    static byte[] fail;
    static LocalRunner runner;

    static final byte[] A = randomFloats(1);
    static final byte[] B = randomFloats(2);

    @BeforeAll
    static void setUp() throws Exception {
        assumeTrue(FakeCandidates.haveCompiler(), "needs a C compiler (cc) to build the fake candidates");
        good = FakeCandidates.build(dir, "");
        wrong = FakeCandidates.build(dir, "WRONG");
        crash = FakeCandidates.build(dir, "CRASH");
        hang = FakeCandidates.build(dir, "HANG");
        fail = FakeCandidates.build(dir, "FAIL");
        runner = new LocalRunner();
    }

    @AfterAll
    static void tearDown() {
        if (runner != null) runner.close();
    }

    @Test
    void infoNamesThisMachine() throws Exception {
        DeviceInfo info = runner.info();
        String hostname = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).strip().replaceAll("\\s+", " ")).orElseThrow();
        assertEquals(hostname + "/" + cpu, info.getDeviceKey());
        assertEquals(Runtime.getRuntime().availableProcessors(), info.getCores());
        assertEquals(HostInfo.PROTOCOL_VERSION, info.getProtocolVersion());
        assertTrue(info.getTriple().startsWith(info.getArch() + "-"), info.getTriple());
    }

    @Test
    void correctCandidateMeasuresOk() {
        MeasureResult r = runner.measure(request("good", good).setRepeat(3).setReturnOutputs(true)
                .setExpected(expected(sum(A, B))).build());
        assertEquals(Status.OK, r.getStatus(), r.getError());
        assertEquals("good", r.getCandidateId());
        assertEquals(3, r.getCostsCount());
        for (double c : r.getCostsList()) assertTrue(c > 0 && c < 1, "cost " + c);
        assertEquals(0.0, r.getMaxAbsError());
        assertArrayEquals(sum(A, B), r.getOutputs(0).toByteArray());
    }

    @Test
    void seededInputsAreTheOnesTensorBytesGenerates() {
        MeasureRequest req = MeasureRequest.newBuilder().setCandidateId("seeded").setLibrary(ByteString.copyFrom(good))
                .addInputs(TensorData.newBuilder().setSeed(11)).addInputs(TensorData.newBuilder().setSeed(12))
                .setReturnOutputs(true).build();
        MeasureResult r = runner.measure(req);
        assertEquals(Status.OK, r.getStatus(), r.getError());
        byte[] a = TensorBytes.random("float32", FakeCandidates.N, 11);
        byte[] b = TensorBytes.random("float32", FakeCandidates.N, 12);
        assertArrayEquals(sum(a, b), r.getOutputs(0).toByteArray());
    }

    @Test
    void minRepeatMsGrowsNumber() {
        MeasureResult r = runner.measure(request("grow", good).setNumber(1).setRepeat(2).setMinRepeatMs(5).build());
        assertEquals(Status.OK, r.getStatus(), r.getError());
        assertTrue(r.getNumber() > 1, "number " + r.getNumber());
        assertTrue(r.getCosts(0) * r.getNumber() >= 0.005, "one repeat took " + r.getCosts(0) * r.getNumber() + " s");
    }

    /**
     * With {@code evict_bytes}, each run is preceded by a pass over that much other memory, which
     * is not timed: the runs alone take a small part of a repeat, and fewer runs fill one than
     * without evicting (the evictions count toward min_repeat_ms).
     */
    @Test
    void evictionRunsBetweenRunsAndIsNotTimed() {
        MeasureResult plain = runner.measure(request("plain", good).setNumber(1).setRepeat(2).setMinRepeatMs(5).build());
        MeasureResult evicted = runner.measure(request("evicted", good).setNumber(1).setRepeat(2).setMinRepeatMs(5)
                .setEvictBytes(8 << 20).setWarmInputs(true).build());
        assertEquals(Status.OK, evicted.getStatus(), evicted.getError());
        assertTrue(evicted.getNumber() < plain.getNumber(), evicted.getNumber() + " runs evicting, " + plain.getNumber() + " without");
        assertTrue(evicted.getCosts(0) * evicted.getNumber() < 0.0025,
                "the runs alone took " + evicted.getCosts(0) * evicted.getNumber() + " s of a 5 ms repeat");
    }

    /**
     * Timings go on past {@code repeat} while their spread is above the target (an unreachable
     * target takes all {@code max_repeat}); a loose target stops at {@code repeat}; an older
     * client's request (no max_repeat) gets exactly {@code repeat}.
     */
    @Test
    void repeatsUntilTheSpreadSettles() {
        MeasureResult strict = runner.measure(request("strict", good).setRepeat(2).setMaxRepeat(7).setTargetRse(1e-12).build());
        assertEquals(Status.OK, strict.getStatus(), strict.getError());
        assertEquals(7, strict.getCostsCount());
        MeasureResult loose = runner.measure(request("loose", good).setRepeat(2).setMaxRepeat(7).setTargetRse(10).build());
        assertEquals(2, loose.getCostsCount());
        MeasureResult old = runner.measure(request("old", good).setRepeat(3).build());
        assertEquals(3, old.getCostsCount());
        assertEquals(0, dev.kiln.autotune.db.TuningRecord.relativeStandardError(List.of(2.0, 2.0, 2.0)));
        // sd 1 (samples 1, 2, 3), mean 2, n 3: 1 / 2 / sqrt(3).
        assertEquals(1 / 2.0 / Math.sqrt(3), dev.kiln.autotune.db.TuningRecord.relativeStandardError(List.of(1.0, 2.0, 3.0)), 1e-12);
    }

    @Test
    void wrongAnswerIsDetected() {
        MeasureResult r = runner.measure(request("wrong", wrong).setExpected(expected(sum(A, B))).build());
        assertEquals(Status.WRONG_ANSWER, r.getStatus());
        assertEquals(0.25, r.getMaxAbsError(), 1e-6);
        assertTrue(r.getError().contains("flat index " + FakeCandidates.N / 2), r.getError());
        assertEquals(0, r.getCostsCount());
    }

    @Test
    void failingRunIsRunError() {
        MeasureResult r = runner.measure(request("fail", fail).build());
        assertEquals(Status.RUN_ERROR, r.getStatus());
        assertTrue(r.getError().contains("the kernel refused to run"), r.getError());
    }

    @Test
    void crashIsReportedAndTheNextCandidateMeasures() {
        MeasureResult r = runner.measure(request("crash", crash).build());
        assertEquals(Status.CRASH, r.getStatus());
        assertTrue(r.getError().contains("SIGSEGV"), r.getError());
        assertTrue(r.getError().contains("kiln_model_run"), r.getError()); // the problematic frame
        MeasureResult next = runner.measure(request("after-crash", good).setExpected(expected(sum(A, B))).build());
        assertEquals(Status.OK, next.getStatus(), next.getError());
    }

    @Test
    void hangTimesOutAndTheNextCandidateMeasures() {
        long t0 = System.nanoTime();
        MeasureResult r = runner.measure(request("hang", hang).setTimeoutMs(1000).build());
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(Status.TIMEOUT, r.getStatus(), r.getError());
        assertTrue(seconds < 1 + RemoteRunner.DEFAULT_SLACK_MS / 1000.0 + 5, "took " + seconds + " s");
        MeasureResult next = runner.measure(request("after-hang", good).setExpected(expected(sum(A, B))).build());
        assertEquals(Status.OK, next.getStatus(), next.getError());
    }

    @Test
    void garbageIsLoadError() {
        MeasureResult r = runner.measure(request("garbage", "not a shared library".getBytes()).build());
        assertEquals(Status.LOAD_ERROR, r.getStatus());
        assertTrue(r.getError().contains("not a shared library"), r.getError());
    }

    @Test
    void inputsThatDoNotFitAreRunError() {
        MeasureRequest req = MeasureRequest.newBuilder().setCandidateId("short").setLibrary(ByteString.copyFrom(good))
                .addInputs(TensorData.newBuilder().setRaw(ByteString.copyFrom(A))).build();
        MeasureResult r = runner.measure(req);
        assertEquals(Status.RUN_ERROR, r.getStatus());
        assertTrue(r.getError().contains("takes 2 inputs"), r.getError());
    }

    @Test
    void remoteRunnerSpeaksToARunningServer() throws Exception {
        RunnerToken token = RunnerToken.random();
        try (RunnerServer server = RunnerServer.start(new RunnerServer.Config("127.0.0.1", 0, token, null, null, 16), line -> {});
                RemoteRunner remote = new RemoteRunner("127.0.0.1", server.port(), new RemoteRunner.Credentials(token, null))) {
            assertEquals(runner.info().getDeviceKey(), remote.info().getDeviceKey());
            MeasureResult r = remote.measure(request("remote", good).setExpected(expected(sum(A, B))).build());
            assertEquals(Status.OK, r.getStatus(), r.getError());
            assertEquals(1, r.getCostsCount());
        }
    }

    private static MeasureRequest.Builder request(String id, byte[] library) {
        return MeasureRequest.newBuilder().setCandidateId(id).setLibrary(ByteString.copyFrom(library))
                .addInputs(TensorData.newBuilder().setRaw(ByteString.copyFrom(A)))
                .addInputs(TensorData.newBuilder().setRaw(ByteString.copyFrom(B)))
                .setNumber(10).setWarmup(2).setTimeoutMs(5000);
    }

    private static Expected expected(byte[] y) {
        return Expected.newBuilder().addOutputs(ByteString.copyFrom(y)).setRtol(1e-6).setAtol(1e-6).build();
    }

    private static byte[] randomFloats(long seed) {
        Random rnd = new Random(seed);
        ByteBuffer b = ByteBuffer.allocate(FakeCandidates.N * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < FakeCandidates.N; i++) b.putFloat(rnd.nextFloat() * 2 - 1);
        return b.array();
    }

    /** The reference: element-wise float32 sum computed here, independent of the runner. */
    private static byte[] sum(byte[] a, byte[] b) {
        ByteBuffer x = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer y = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer s = ByteBuffer.allocate(a.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < a.length / 4; i++) s.putFloat(x.getFloat(i * 4) + y.getFloat(i * 4));
        return s.array();
    }
}
