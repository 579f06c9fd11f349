package dev.kiln.autotune.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.TuningRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.ArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PackServer} on loopback over a folder of two packs: the index, ETags and 304s, HEAD, and
 * the refusals (other methods, paths out of the folder, hidden files, links out of it).
 */
class PackServerTest {
    @TempDir
    Path dir;

    private PackServer server;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private final HttpClient client = HttpClient.newHttpClient();

    static TuningRecord record(String target, String workload, String config, double cost) {
        return new TuningRecord(target, workload, "matmul 64x64x64 f32 " + workload, config, "split i 8\n", List.of(cost, cost),
                ErrorCode.NONE, null, 2.0 * 64 * 64 * 64, Instant.parse("2026-11-23T10:00:00Z"), "0.1.0", "host/cpu", "random", 1, "run-1");
    }

    static Pack.Header pack(Path file, String target, String... workloads) {
        List<PackEntry> entries = new ArrayList<>();
        for (String w : workloads) entries.add(new PackEntry(target, w, "matmul 64x64x64 f32", List.of(record(target, w, "0.tile=8", 1e-3))));
        return Pack.write(file, entries, "0.1.0", "19.1.0");
    }

    @BeforeEach
    void start() throws IOException {
        pack(dir.resolve("avx512.kpack"), "x86_64-avx512", "MatMul-1", "MatMul-2");
        pack(dir.resolve("neon.kpack"), "aarch64-neon", "MatMul-3");
        server = PackServer.start(dir, "127.0.0.1", 0, log::add);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<byte[]> send(String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + path.substring(1)))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) b.headers(headers);
        return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void indexListsThePacksWithWhatTheirHeadersSay() throws Exception {
        assertTrue(server.url().matches("http://127\\.0\\.0\\.1:\\d+/"), server.url());
        HttpResponse<byte[]> r = send("GET", "/index.json");
        assertEquals(200, r.statusCode());
        JsonArray index = JsonParser.parseString(new String(r.body(), StandardCharsets.UTF_8)).getAsJsonArray();
        assertEquals(2, index.size());
        JsonObject first = index.get(0).getAsJsonObject();
        assertEquals("avx512.kpack", first.get("name").getAsString());
        assertEquals("x86_64-avx512", first.get("targets").getAsJsonArray().get(0).getAsString());
        assertEquals(2, first.get("workloads").getAsLong());
        assertEquals(2, first.get("records").getAsLong());
        assertEquals(Files.size(dir.resolve("avx512.kpack")), first.get("bytes").getAsLong());
        assertEquals("\"" + PackServer.fileSha256(dir.resolve("avx512.kpack")) + "\"", first.get("etag").getAsString());
        Instant.parse(first.get("created").getAsString());
        assertTrue(log.contains("GET /index.json 200"), log.toString());
    }

    @Test
    void indexFollowsTheFolderAndLeavesOutBrokenPacks() throws Exception {
        assertEquals(2, index().size());
        pack(dir.resolve("more.kpack"), "x86_64-avx2", "MatMul-4");
        Files.writeString(dir.resolve("broken.kpack"), "not a pack\n");
        Files.writeString(dir.resolve(".hidden.kpack"), "");
        Files.createDirectories(dir.resolve("sub"));
        pack(dir.resolve("sub").resolve("deep.kpack"), "x86_64-avx2", "MatMul-5");
        Set<String> names = new TreeSet<>();
        for (var e : index()) names.add(e.getAsJsonObject().get("name").getAsString());
        assertEquals(Set.of("avx512.kpack", "more.kpack", "neon.kpack"), names);
        assertTrue(log.stream().anyMatch(l -> l.startsWith("left out of the index: broken.kpack")), log.toString());
        Files.delete(dir.resolve("neon.kpack"));
        assertEquals(2, index().size());
    }

    private JsonArray index() throws Exception {
        return JsonParser.parseString(new String(send("GET", "/index.json").body(), StandardCharsets.UTF_8)).getAsJsonArray();
    }

    @Test
    void packsComeWithAStrongEtagAnd304WhenItMatches() throws Exception {
        Path file = dir.resolve("avx512.kpack");
        HttpResponse<byte[]> r = send("GET", "/avx512.kpack");
        assertEquals(200, r.statusCode());
        assertEquals(Files.size(file), r.body().length);
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(file), r.body()));
        String etag = r.headers().firstValue("ETag").orElseThrow();
        assertEquals("\"" + PackServer.fileSha256(file) + "\"", etag);
        assertEquals(Long.toString(Files.size(file)), r.headers().firstValue("Content-Length").orElseThrow());

        HttpResponse<byte[]> again = send("GET", "/avx512.kpack", "If-None-Match", etag);
        assertEquals(304, again.statusCode());
        assertEquals(0, again.body().length);
        assertEquals(200, send("GET", "/avx512.kpack", "If-None-Match", "\"0000\"").statusCode());

        HttpResponse<byte[]> head = send("HEAD", "/avx512.kpack");
        assertEquals(200, head.statusCode());
        assertEquals(etag, head.headers().firstValue("ETag").orElseThrow());
        assertEquals(Long.toString(Files.size(file)), head.headers().firstValue("Content-Length").orElseThrow());
        assertEquals(0, head.body().length);

        // A changed pack gets a new ETag, so a pull that had the old one fetches it again.
        pack(file, "x86_64-avx512", "MatMul-1", "MatMul-2", "MatMul-6");
        HttpResponse<byte[]> changed = send("GET", "/avx512.kpack", "If-None-Match", etag);
        assertEquals(200, changed.statusCode());
        assertFalse(etag.equals(changed.headers().firstValue("ETag").orElseThrow()));
        assertTrue(log.contains("GET /avx512.kpack 304") && log.contains("HEAD /avx512.kpack 200"), log.toString());
    }

    @Test
    void nothingButGetAndHead() throws Exception {
        for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
            for (String path : List.of("/avx512.kpack", "/index.json", "/new.kpack")) {
                HttpResponse<byte[]> r = send(method, path);
                assertEquals(405, r.statusCode(), method + " " + path);
                assertEquals("GET, HEAD", r.headers().firstValue("Allow").orElseThrow());
            }
        }
        assertTrue(Files.isRegularFile(dir.resolve("avx512.kpack")));
        assertFalse(Files.exists(dir.resolve("new.kpack")));
        assertTrue(log.contains("DELETE /avx512.kpack 405"), log.toString());
    }

    @Test
    void nothingOutsideTheFolder() throws Exception {
        Path outside = dir.getParent().resolve(dir.getFileName() + "-secret.kpack");
        pack(outside, "x86_64-avx512", "MatMul-7");
        try {
            Files.writeString(dir.resolve(".hidden.kpack"), "hidden");
            Files.createDirectories(dir.resolve("sub"));
            pack(dir.resolve("sub").resolve("deep.kpack"), "x86_64-avx512", "MatMul-8");
            Files.createSymbolicLink(dir.resolve("link.kpack"), outside);
            pack(dir.resolve("inside.kpack"), "x86_64-avx512", "MatMul-9");
            Files.createSymbolicLink(dir.resolve("alias.kpack"), dir.resolve("inside.kpack"));
            String up = "/../" + outside.getFileName();
            for (String path : List.of(up, "/%2e%2e/" + outside.getFileName(), "/%2E%2E%2F" + outside.getFileName(),
                    "/..%2f" + outside.getFileName(), "/" + outside.toAbsolutePath(), "//" + outside.toAbsolutePath(),
                    "/.hidden.kpack", "/sub/deep.kpack", "/sub%2fdeep.kpack", "/link.kpack", "/nothing.kpack", "/", "/avx512.kpack/",
                    "/avx512", "/index.json/..")) {
                assertEquals(404, raw("GET " + path + " HTTP/1.1"), path);
            }
            assertEquals(200, send("GET", "/alias.kpack").statusCode());
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    /** The status of a request sent as written, with no client to normalise its path. */
    private int raw(String requestLine) throws IOException {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write((requestLine + "\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String status = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1).lines().findFirst().orElse("");
            return Integer.parseInt(status.split(" ")[1]);
        }
    }

    @Test
    void refusesAFolderThatIsNotThere() {
        PackException e = org.junit.jupiter.api.Assertions.assertThrows(PackException.class,
                () -> PackServer.start(dir.resolve("none"), "127.0.0.1", 0, l -> {}));
        assertTrue(e.getMessage().contains("no folder of packs"), e.getMessage());
    }
}
