package dev.kiln.autotune.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.kiln.autotune.runner.proto.InfoRequest;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.MeasureResult.Status;
import dev.kiln.autotune.runner.proto.RunnerGrpc;
import dev.kiln.autotune.runner.proto.TensorData;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln runner}'s server on loopback, with a real worker process: calls without the token or
 * with another are refused and run nothing; the right token measures; a candidate that crashes or
 * hangs the worker comes back as CRASH or TIMEOUT and the next one measures; an upload over the
 * limit is refused; TLS works with a generated pair and refuses the wrong certificate and a
 * plaintext peer; each connection's libraries live in a directory wiped when it closes.
 */
class RunnerServerTest {
    @TempDir
    static Path dir;
    static byte[] good, crash, hang, marking;
    static Path marker;
    static RunnerToken token;
    static RunnerServer server;
    static final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void setUp() throws Exception {
        assumeTrue(FakeCandidates.haveCompiler(), "needs a C compiler (cc) to build the fake candidates");
        good = FakeCandidates.build(dir, "");
        crash = FakeCandidates.build(dir, "CRASH");
        hang = FakeCandidates.build(dir, "HANG");
        marker = dir.resolve("ran");
        marking = FakeCandidates.buildMarking(dir, marker);
        token = RunnerToken.random();
        server = RunnerServer.start(new RunnerServer.Config("127.0.0.1", 0, token, null, null, 1), log::add);
    }

    @AfterAll
    static void tearDown() {
        if (server == null) return;
        Path root = server.workRoot();
        server.close();
        assertFalse(Files.exists(root), "the work root outlived the server: " + root);
    }

    @Test
    void noTokenOrAWrongOneIsRefusedAndNothingRuns() throws Exception {
        long before = server.measured();
        for (RunnerToken t : new RunnerToken[] {null, RunnerToken.random()}) {
            try (RemoteRunner r = client(server, t, null)) {
                RunnerException info = assertThrows(RunnerException.class, r::info);
                assertTrue(info.getMessage().contains("refused this tuner") && info.getMessage().contains("token file"), info.getMessage());
                assertTrue(info.getMessage().contains(t == null ? "needs a token" : "wrong token"), info.getMessage());
                RunnerException measure = assertThrows(RunnerException.class, () -> r.measure(request("marking", marking).build()));
                assertTrue(measure.getMessage().contains("refused this tuner"), measure.getMessage());
            }
        }
        assertFalse(Files.exists(marker), "a refused candidate ran");
        assertEquals(before, server.measured(), "a refused request reached the worker");
        assertTrue(log.stream().anyMatch(l -> l.startsWith("refused Measure") && l.endsWith("no token")), log.toString());
        assertTrue(log.stream().anyMatch(l -> l.startsWith("refused Info") && l.endsWith("wrong token")), log.toString());
    }

    @Test
    void theRightTokenMeasuresInASessionDirectoryWipedAfterwards() throws Exception {
        Path root = server.workRoot();
        try (RemoteRunner r = client(server, token, null)) {
            assertEquals(1 << 20, r.info().getMaxUploadBytes());
            MeasureResult ok = r.measure(request("good", good).build());
            assertEquals(Status.OK, ok.getStatus(), ok.getError());
            assertTrue(ok.getCostsCount() > 0 && ok.getCosts(0) > 0);
            MeasureResult marked = r.measure(request("marking", marking).build());
            assertEquals(Status.OK, marked.getStatus(), marked.getError());
            assertTrue(Files.exists(marker), "the candidate did not run");
            Files.delete(marker);
            assertEquals(1, sessions(root).size(), "one connection, one session: " + sessions(root));
        }
        awaitNoSessions(root);
    }

    @Test
    void aCrashOrAHangCostsTheWorkerNotTheRunner() throws Exception {
        Path root = server.workRoot();
        try (RemoteRunner r = client(server, token, null)) {
            MeasureResult crashed = r.measure(request("crash", crash).build());
            assertEquals(Status.CRASH, crashed.getStatus(), crashed.getError());
            assertTrue(crashed.getError().contains("SIGSEGV"), crashed.getError());
            // The worker died holding the library: it is still in the session's directory.
            List<Path> s = sessions(root);
            assertEquals(1, s.size());
            try (Stream<Path> files = Files.list(s.getFirst())) {
                assertTrue(files.anyMatch(f -> f.getFileName().toString().endsWith(".so")), "the library was not in " + s.getFirst());
            }
            assertEquals(Status.OK, r.measure(request("after-crash", good).build()).getStatus());

            long t0 = System.nanoTime();
            MeasureResult hung = r.measure(request("hang", hang).setTimeoutMs(1000).build());
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(Status.TIMEOUT, hung.getStatus(), hung.getError());
            assertTrue(hung.getError().contains("killed the measuring worker"), hung.getError());
            assertTrue(seconds < 1 + RemoteRunner.DEFAULT_SLACK_MS / 1e3 + 5, "took " + seconds + " s");
            assertEquals(Status.OK, r.measure(request("after-hang", good).build()).getStatus());
        }
        awaitNoSessions(root);
        assertTrue(log.stream().anyMatch(l -> l.contains("crashed the measuring worker")), log.toString());
        assertTrue(log.stream().anyMatch(l -> l.contains("hung; killed the measuring worker")), log.toString());
    }

    @Test
    void anUploadOverTheLimitIsRefused() throws Exception {
        long before = server.measured();
        MeasureRequest big = request("big", new byte[3 << 19]).build(); // 1.5 MB, the limit is 1 MB
        // Without knowing the limit the tuner sends it; the runner refuses it unread.
        try (RemoteRunner r = client(server, token, null)) {
            RunnerException e = assertThrows(RunnerException.class, () -> r.measure(big));
            assertTrue(e.getMessage().contains("candidate big is 1.5 MB") && e.getMessage().contains("accepts 1 MB")
                    && e.getMessage().contains("raise --max-upload-mb there"), e.getMessage());
            // Once it knows the limit, it does not even send it.
            RunnerException again = assertThrows(RunnerException.class, () -> r.measure(big));
            assertTrue(again.getMessage().contains("raise --max-upload-mb there"), again.getMessage());
        }
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext()
                .intercept(RunnerAuth.client(token)).build();
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> RunnerGrpc.newBlockingStub(ch).measure(big));
            assertEquals(io.grpc.Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertEquals(before, server.measured());
    }

    @Test
    void tlsWithAGeneratedPairAndNothingElse(@TempDir Path tls) throws Exception {
        Path a = tls.resolve("a"), b = tls.resolve("b");
        List<String> names = RunnerTls.generate(a, List.of("board1.example", "10.1.2.3"));
        assertTrue(names.containsAll(List.of("localhost", "127.0.0.1", "board1.example", "10.1.2.3")), names.toString());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(a.resolve(RunnerTls.KEY_FILE))));
        assertThrows(RunnerException.class, () -> RunnerTls.generate(a, List.of()), "overwrote a key");
        RunnerTls.generate(b, List.of());
        Path cert = a.resolve(RunnerTls.CERT_FILE);
        try (RunnerServer tlsServer = RunnerServer.start(
                new RunnerServer.Config("127.0.0.1", 0, token, cert, a.resolve(RunnerTls.KEY_FILE), 1), log::add)) {
            try (RemoteRunner r = client(tlsServer, token, cert)) {
                assertEquals(HostInfo.PROTOCOL_VERSION, r.info().getProtocolVersion());
                assertEquals(Status.OK, r.measure(request("over-tls", good).build()).getStatus());
            }
            try (RemoteRunner r = client(tlsServer, token, b.resolve(RunnerTls.CERT_FILE))) {
                RunnerException e = assertThrows(RunnerException.class, r::info);
                assertTrue(e.getMessage().contains("the certificate it serves is not " + b.resolve(RunnerTls.CERT_FILE)), e.getMessage());
            }
            try (RemoteRunner r = client(tlsServer, token, null)) {
                RunnerException e = assertThrows(RunnerException.class, r::info);
                assertTrue(e.getMessage().contains("if it serves TLS") && e.getMessage().contains("--tls-cert F"), e.getMessage());
            }
        }
        // 127.0.0.2 is this machine too, but not a name in the certificate.
        try (RunnerServer other = RunnerServer.start(
                new RunnerServer.Config("127.0.0.2", 0, token, cert, a.resolve(RunnerTls.KEY_FILE), 1), log::add);
                RemoteRunner r = new RemoteRunner("127.0.0.2", other.port(), new RemoteRunner.Credentials(token, cert))) {
            RunnerException e = assertThrows(RunnerException.class, r::info);
            assertTrue(e.getMessage().contains("does not name 127.0.0.2") && e.getMessage().contains("--host 127.0.0.2"), e.getMessage());
        }
        try (RemoteRunner r = client(server, token, cert)) {
            RunnerException e = assertThrows(RunnerException.class, r::info);
            assertTrue(e.getMessage().contains("does not speak TLS"), e.getMessage());
        }
    }

    @Test
    void noTokenOnlyOnLoopback() throws Exception {
        RunnerException e = assertThrows(RunnerException.class,
                () -> RunnerServer.start(new RunnerServer.Config("0.0.0.0", 0, null, null, null, 1), log::add));
        assertTrue(e.getMessage().contains("refusing to listen on 0.0.0.0 without a token"), e.getMessage());
        try (RunnerServer open = RunnerServer.start(new RunnerServer.Config("localhost", 0, null, null, null, 1), log::add);
                RemoteRunner r = client(open, null, null)) {
            assertEquals(HostInfo.PROTOCOL_VERSION, r.info().getProtocolVersion());
        }
    }

    /** The worker's own port is no way around the token: it wants the worker's, and writes only in sessions. */
    @Test
    void theWorkerAnswersOnlyItsParent(@TempDir Path root) throws Exception {
        RunnerToken workerToken = RunnerToken.random();
        Server worker = RunnerMain.start(0, workerToken, root);
        try {
            try (RemoteRunner r = client(worker.getPort(), token, null)) {
                assertTrue(assertThrows(RunnerException.class, r::info).getMessage().contains("wrong token"));
            }
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", worker.getPort()).usePlaintext()
                    .intercept(RunnerAuth.client(workerToken)).build();
            try {
                Metadata m = new Metadata();
                m.put(RunnerMain.SESSION, "../elsewhere");
                var stub = RunnerGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.measure(request("escape", good).build()));
                assertEquals(io.grpc.Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
                assertEquals(HostInfo.PROTOCOL_VERSION, RunnerGrpc.newBlockingStub(ch).info(InfoRequest.getDefaultInstance()).getProtocolVersion());
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        } finally {
            worker.shutdownNow();
        }
    }

    private static RemoteRunner client(RunnerServer s, RunnerToken t, Path cert) {
        return client(s.port(), t, cert);
    }

    private static RemoteRunner client(int port, RunnerToken t, Path cert) {
        return new RemoteRunner("127.0.0.1", port, new RemoteRunner.Credentials(t, cert));
    }

    private static List<Path> sessions(Path root) throws IOException {
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> p.getFileName().toString().startsWith("session-")).toList();
        }
    }

    /** The server wipes a session when it sees the connection close, a moment after the client closed it. */
    private static void awaitNoSessions(Path root) throws Exception {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!sessions(root).isEmpty() && System.nanoTime() < end) Thread.sleep(50);
        assertEquals(List.of(), sessions(root), "session directories outlived their connections");
    }

    private static MeasureRequest.Builder request(String id, byte[] library) {
        ByteString zeros = ByteString.copyFrom(new byte[FakeCandidates.N * 4]);
        return MeasureRequest.newBuilder().setCandidateId(id).setLibrary(ByteString.copyFrom(library))
                .addInputs(TensorData.newBuilder().setRaw(zeros)).addInputs(TensorData.newBuilder().setRaw(zeros))
                .setNumber(10).setWarmup(1).setTimeoutMs(5000);
    }
}
