package dev.kiln.autotune.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.tune.Models;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PackPull} from a {@link PackServer} on loopback and from the disk, with packs exported
 * from a database tuned like {@link PacksTest}'s (zoo:mlp's real workloads, so the import's checks
 * against today's config spaces pass): the second pull is 304 and adds nothing, a changed pack is
 * fetched again, an unreachable cache is one warning line, a refused or oversized pack is one
 * warning naming it while the others still come.
 */
class PackPullTest {
    static final String TARGET = PacksTest.TARGET.name();

    @TempDir
    Path dir;

    private final List<String> serverLog = Collections.synchronizedList(new ArrayList<>());
    private final List<String> printed = new ArrayList<>();
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void extract() {
        if (PacksTest.mlp == null) PacksTest.mlp = Models.extract("zoo:mlp", PacksTest.TARGET);
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
    }

    /** zoo:mlp's three workloads tuned (the fast config at {@code fastSeconds}), exported as {@code file}: 6 records. */
    static Pack.Header exported(Path file, double fastSeconds) {
        Path src = file.resolveSibling(file.getFileName() + "-" + fastSeconds + ".db");
        try (TuningDatabase db = TuningDatabase.open("jdbc:sqlite:" + src)) {
            PacksTest.tune(db, fastSeconds);
            return Packs.export(db, file, List.of(), null, "0.1.0", "20.1.7").header();
        }
    }

    TuningDatabase db(String name) {
        TuningDatabase d = TuningDatabase.open("jdbc:sqlite:" + dir.resolve(name));
        open.add(d);
        return d;
    }

    PackServer serve(Path folder) throws IOException {
        PackServer s = PackServer.start(folder, "127.0.0.1", 0, serverLog::add);
        open.add(s);
        return s;
    }

    /** A folder with zoo:mlp's pack for the target and a pack for another target only. */
    Path folder() {
        Path packs = dir.resolve("packs");
        try {
            Files.createDirectories(packs);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        exported(packs.resolve("mlp.kpack"), 1e-3);
        PackServerTest.pack(packs.resolve("neon.kpack"), "aarch64-neon", "MatMul-3");
        return packs;
    }

    PackPull.Result pull(String url, TuningDatabase db) {
        return PackPull.pull(url, db, TARGET, printed::add);
    }

    static int deadPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void aSecondPullIsNotModifiedAndAChangedPackIsFetchedAgain() throws IOException {
        Path packs = folder();
        PackServer server = serve(packs);
        TuningDatabase db = db("here.db");
        PackPull.Result first = pull(server.url(), db);
        assertTrue(first.reached(), first.toString());
        assertEquals(1, first.fetched());
        assertEquals(6, first.added());
        assertEquals(List.of(), first.warnings());
        assertEquals(6, db.count());
        assertEquals("\"" + PackServer.fileSha256(packs.resolve("mlp.kpack")) + "\"", db.pulledEtag(server.url() + "mlp.kpack").orElseThrow());
        assertTrue(first.summary().startsWith("pulled from " + server.url() + ": 1 pack fetched (6 new records), 0 up to date"), first.summary());
        assertFalse(serverLog.stream().anyMatch(l -> l.contains("neon")), "a pack of another target is not fetched: " + serverLog);

        PackPull.Result second = pull(server.url(), db);
        assertEquals(0, second.fetched());
        assertEquals(1, second.upToDate());
        assertEquals(0, second.added());
        assertTrue(serverLog.contains("GET /mlp.kpack 304"), serverLog.toString());
        assertEquals(6, db.count());

        exported(packs.resolve("mlp.kpack"), 0.5e-3);
        PackPull.Result third = pull(server.url(), db);
        assertEquals(1, third.fetched());
        assertTrue(third.added() > 0, third.toString());
        assertEquals("\"" + PackServer.fileSha256(packs.resolve("mlp.kpack")) + "\"", db.pulledEtag(server.url() + "mlp.kpack").orElseThrow());
        assertEquals(List.of(), printed);
    }

    @Test
    void onePackByUrl() throws IOException {
        PackServer server = serve(folder());
        TuningDatabase db = db("here.db");
        PackPull.Result r = pull(server.url() + "mlp.kpack", db);
        assertEquals(1, r.fetched());
        assertEquals(6, db.count());
        assertEquals(1, pull(server.url() + "mlp.kpack", db).upToDate());
        // One pack named by its URL is taken whatever its targets: a pack of another target that
        // the import refuses is a warning naming it.
        PackPull.Result neon = pull(server.url() + "neon.kpack", db);
        assertTrue(neon.reached());
        assertEquals(1, neon.warnings().size());
        assertTrue(neon.warnings().getFirst().startsWith("warning: pack neon.kpack from " + server.url() + "neon.kpack not imported: "),
                neon.warnings().getFirst());
    }

    @Test
    void fileUrlsOfAFolderAndOfOnePack() throws IOException {
        Path packs = folder();
        TuningDatabase db = db("here.db");
        String folderUrl = packs.toUri().toString();
        assertTrue(folderUrl.startsWith("file:///") && folderUrl.endsWith("/"), folderUrl);
        PackPull.Result first = pull(folderUrl, db);
        assertEquals(1, first.fetched(), first.toString());
        assertEquals(6, first.added());
        String key = packs.resolve("mlp.kpack").toUri().toString();
        assertEquals("\"" + PackServer.fileSha256(packs.resolve("mlp.kpack")) + "\"", db.pulledEtag(key).orElseThrow());
        PackPull.Result second = pull(folderUrl, db);
        assertEquals(1, second.upToDate());
        assertEquals(0, second.fetched());

        TuningDatabase other = db("other.db");
        PackPull.Result one = pull(key, other);
        assertEquals(1, one.fetched());
        assertEquals(6, other.count());
        exported(packs.resolve("mlp.kpack"), 0.5e-3);
        assertEquals(1, pull(key, other).fetched(), "a changed file is imported again");

        PackPull.Result missing = pull(dir.resolve("nowhere").toUri() + "/", other);
        assertFalse(missing.reached());
        assertEquals(1, printed.size(), printed.toString());
        assertTrue(printed.getFirst().startsWith("warning: cannot reach the pack cache file://"), printed.getFirst());
    }

    @Test
    void aStoppedServerIsOneWarningAndTheLocalRecordsStay() throws IOException {
        TuningDatabase db = db("here.db");
        PackServer server = serve(folder());
        pull(server.url(), db);
        String url = server.url();
        server.close();
        PackPull.Result r = pull(url, db);
        assertFalse(r.reached());
        assertEquals(1, printed.size(), printed.toString());
        String line = printed.getFirst();
        assertTrue(line.matches("warning: cannot reach the pack cache \\Q" + url + "\\E \\([^\\n]+\\); using the local tuning records"), line);
        assertEquals(line, r.summary());
        assertEquals(6, db.count());

        printed.clear();
        int port = deadPort();
        PackPull.Result dead = pull("http://127.0.0.1:" + port + "/", db);
        assertFalse(dead.reached());
        assertEquals(List.of("warning: cannot reach the pack cache http://127.0.0.1:" + port + "/ (connection refused); using the local tuning records"),
                printed);
    }

    /** A stand-in cache: each path answers as {@code handlers} says; the rest 404. */
    HttpServer fake(Map<String, Consumer<HttpExchange>> handlers) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.createContext("/", ex -> {
            try (ex) {
                Consumer<HttpExchange> h = handlers.get(ex.getRequestURI().getRawPath());
                serverLog.add(ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath());
                if (h == null) ex.sendResponseHeaders(404, -1);
                else h.accept(ex);
            }
        });
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        s.setExecutor(pool);
        s.start();
        open.add(() -> {
            s.stop(0);
            pool.shutdownNow();
        });
        return s;
    }

    static String url(HttpServer s) {
        return "http://127.0.0.1:" + s.getAddress().getPort() + "/";
    }

    static Consumer<HttpExchange> body(int status, byte[] bytes) {
        return ex -> {
            try {
                ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            } catch (IOException e) {
                // the client hung up: what the test wants to see
            }
        };
    }

    static Consumer<HttpExchange> file(Path p) {
        return ex -> {
            try {
                body(200, Files.readAllBytes(p)).accept(ex);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
    }

    static byte[] index(String... names) {
        StringBuilder s = new StringBuilder("[");
        for (String n : names) s.append(s.length() > 1 ? "," : "").append("{\"name\":\"").append(n).append("\",\"targets\":[\"").append(TARGET).append("\"]}");
        return s.append(']').toString().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void anHttpErrorIsOneWarning() throws IOException {
        HttpServer s = fake(Map.of("/index.json", body(503, "down for maintenance".getBytes(StandardCharsets.UTF_8))));
        PackPull.Result r = pull(url(s), db("here.db"));
        assertFalse(r.reached());
        assertEquals(List.of("warning: cannot reach the pack cache " + url(s) + " (HTTP 503 for index.json); using the local tuning records"), printed);
        printed.clear();
        HttpServer notACache = fake(Map.of("/index.json", body(200, "<html>hello</html>".getBytes(StandardCharsets.UTF_8))));
        assertFalse(pull(url(notACache), db("here.db")).reached());
        assertEquals(1, printed.size(), printed.toString());
    }

    /** Sends zeros past {@link Pack#MAX_BYTES}, with {@code length} in the headers (0: none, chunked), until the client hangs up. */
    private static void stream(HttpExchange ex, long length) {
        try {
            ex.sendResponseHeaders(200, length);
            try (OutputStream out = ex.getResponseBody()) {
                byte[] chunk = new byte[1 << 20];
                for (long sent = 0; sent <= Pack.MAX_BYTES; sent += chunk.length) out.write(chunk, 0, (int) Math.min(chunk.length, Pack.MAX_BYTES + 1 - sent));
            }
        } catch (IOException hungUp) {
            // as it should
        }
    }

    @Test
    void oversizedPacksAreRefusedAndTheOthersStillCome() throws IOException {
        Path mlp = dir.resolve("mlp.kpack");
        exported(mlp, 1e-3);
        Map<String, Consumer<HttpExchange>> routes = new ConcurrentHashMap<>();
        routes.put("/index.json", body(200, index("announced.kpack", "streamed.kpack", "mlp.kpack")));
        // Says up front it is too big: refused on its headers, the body left unread.
        routes.put("/announced.kpack", ex -> stream(ex, Pack.MAX_BYTES + 1));
        // Says nothing (chunked) and sends more than a pack may have.
        routes.put("/streamed.kpack", ex -> stream(ex, 0));
        routes.put("/mlp.kpack", file(mlp));
        HttpServer s = fake(routes);
        TuningDatabase db = db("here.db");
        PackPull.Result r = pull(url(s), db);
        assertTrue(r.reached(), r.toString());
        assertEquals(1, r.fetched());
        assertEquals(6, db.count());
        assertEquals(2, r.warnings().size(), r.warnings().toString());
        assertEquals("warning: pack announced.kpack from " + url(s) + " not imported: it is " + (Pack.MAX_BYTES + 1)
                + " bytes, more than the " + Pack.MAX_BYTES + " a pack may have", r.warnings().get(0));
        assertEquals("warning: pack streamed.kpack from " + url(s) + " not imported: it is larger, more than the " + Pack.MAX_BYTES
                + " a pack may have", r.warnings().get(1));
        assertTrue(db.pulledEtag(url(s) + "announced.kpack").isEmpty() && db.pulledEtag(url(s) + "streamed.kpack").isEmpty());
        assertTrue(r.summary().endsWith("1 pack fetched (6 new records), 0 up to date, 2 refused"), r.summary());
        assertEquals(r.warnings(), printed);
    }

    @Test
    void aPackTheImportRefusesIsOneWarningAndIsAskedForAgainNextTime() throws IOException {
        Path packs = folder();
        Pack good = Pack.read(packs.resolve("mlp.kpack"));
        PackEntry e = good.entries().getFirst();
        TuningRecord r = e.chosen();
        TuningRecord bad = new TuningRecord(r.target(), r.workloadKey(), r.workloadDesc(), "no_such_knob=4", r.trace(), r.costsSeconds(),
                r.errorCode(), r.errorMessage(), r.flops(), r.timestamp(), r.kilnVersion(), r.deviceKey(), r.tuner(), r.trial(), r.runId(),
                r.conditions(), r.referenceCost(), r.provenance());
        Pack.write(packs.resolve("bad.kpack"), List.of(new PackEntry(e.target(), e.workloadKey(), e.canonical(), List.of(bad))), "0.1.0", "20.1.7");
        PackServer server = serve(packs);
        TuningDatabase db = db("here.db");
        PackPull.Result first = pull(server.url(), db);
        assertEquals(1, first.fetched());
        assertEquals(6, db.count());
        assertEquals(1, printed.size(), printed.toString());
        assertTrue(printed.getFirst().startsWith("warning: pack bad.kpack from " + server.url() + " not imported: ")
                && printed.getFirst().contains("not in today's config space") && !printed.getFirst().contains("kiln-pull-")
                && !printed.getFirst().contains("\n"), printed.getFirst());
        assertTrue(db.pulledEtag(server.url() + "bad.kpack").isEmpty());
        PackPull.Result second = pull(server.url(), db);
        assertEquals(1, second.upToDate());
        assertEquals(1, second.warnings().size());
        assertEquals(2, serverLog.stream().filter(l -> l.equals("GET /bad.kpack 200")).count(), serverLog.toString());
    }

    @Test
    void anIndexNamesOnlyPacksBesideIt() throws IOException {
        Path mlp = dir.resolve("mlp.kpack");
        exported(mlp, 1e-3);
        HttpServer s = fake(Map.of("/sub/index.json", body(200, index("../secret.kpack", "%2e%2e/x.kpack", "/etc.kpack",
                        "http:evil.kpack", "mlp.kpack")),
                "/sub/mlp.kpack", file(mlp)));
        TuningDatabase db = db("here.db");
        PackPull.Result r = pull(url(s) + "sub", db);
        assertEquals(1, r.fetched(), r.toString());
        assertEquals(4, r.warnings().size(), r.warnings().toString());
        assertTrue(r.warnings().getFirst().contains("'../secret.kpack', not a plain pack name"), r.warnings().getFirst());
        assertEquals(List.of("GET /sub/index.json", "GET /sub/mlp.kpack"), serverLog);
    }

    @Test
    void credentialsAreSentButNeverShownOrStored() throws IOException {
        Path mlp = dir.resolve("mlp.kpack");
        exported(mlp, 1e-3);
        List<String> auth = Collections.synchronizedList(new ArrayList<>());
        Consumer<HttpExchange> pack = file(mlp);
        HttpServer s = fake(Map.of("/mlp.kpack", ex -> {
            auth.add(ex.getRequestHeaders().getFirst("Authorization"));
            pack.accept(ex);
        }));
        int port = s.getAddress().getPort();
        TuningDatabase db = db("here.db");
        PackPull.Result r = pull("http://alice:s3cret@127.0.0.1:" + port + "/mlp.kpack?token=t0ken", db);
        assertEquals(1, r.fetched(), r.toString());
        assertEquals(List.of("Basic " + java.util.Base64.getEncoder().encodeToString("alice:s3cret".getBytes(StandardCharsets.UTF_8))), auth);
        assertEquals("http://127.0.0.1:" + port + "/mlp.kpack", r.source());
        assertTrue(db.pulledEtag("http://127.0.0.1:" + port + "/mlp.kpack").isPresent());
        assertFalse(r.summary().contains("s3cret") || r.summary().contains("t0ken"), r.summary());

        int dead = deadPort();
        PackPull.Result down = pull("https://alice:s3cret@127.0.0.1:" + dead + "/?token=t0ken", db);
        assertFalse(down.reached());
        assertEquals(1, printed.size());
        assertFalse(printed.getFirst().contains("s3cret") || printed.getFirst().contains("alice") || printed.getFirst().contains("t0ken"),
                printed.getFirst());
    }

    @Test
    void aUrlOfAnotherKindIsAnError() {
        TuningDatabase db = db("here.db");
        for (String url : List.of("ftp://host/packs/", "packs/", "http:///nohost/", "http://host:port/", "file://server/share/"))
            assertTrue(assertThrows(PackException.class, () -> pull(url, db), url).getMessage().startsWith("--cache-url"), url);
        assertEquals(List.of(), printed);
    }
}
