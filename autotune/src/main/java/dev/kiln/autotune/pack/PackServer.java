package dev.kiln.autotune.pack;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * {@code kiln cache serve}: a folder of packs over HTTP, read-only. {@code GET /index.json} lists
 * the packs at the folder's top level with what their headers say; {@code GET /NAME.kpack} sends
 * one, with a strong ETag (the SHA-256 of the file) so that a pull that has it already gets a
 * {@code 304}. {@code HEAD} answers the same without a body; every other method is refused with
 * {@code 405}, every other path with {@code 404}. Only plain names of regular files in the folder
 * are served: no {@code /}, no {@code ..}, no percent-escapes, no hidden files, nothing a link
 * points to outside the folder.
 */
public final class PackServer implements AutoCloseable {
    /** A name the server sends: letters, digits, {@code . _ -}, not starting with a dot, ending in {@code .kpack}. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*\\.kpack");
    private static final int THREADS = 4;

    private final Path dir;
    private final Consumer<String> log;
    private final HttpServer http;
    private final ExecutorService pool;
    private final Map<Path, Digest> digests = new ConcurrentHashMap<>();
    private Index index = new Index("", new byte[0]);
    private boolean closed;

    /** A file's SHA-256 as it was at this size and modification time. */
    private record Digest(long size, long mtime, String sha256) {}

    /** The index as it was built for a listing of the folder (names, sizes and times of its packs). */
    private record Index(String listing, byte[] json) {}

    private PackServer(Path dir, HttpServer http, ExecutorService pool, Consumer<String> log) {
        this.dir = dir;
        this.http = http;
        this.pool = pool;
        this.log = log;
    }

    /**
     * Serves {@code dir} on {@code bind}:{@code port} (port 0: any free one) until {@link #close};
     * one line per request, and one per pack left out of the index, go to {@code log}.
     */
    public static PackServer start(Path dir, String bind, int port, Consumer<String> log) throws IOException {
        if (!Files.isDirectory(dir)) throw new PackException("no folder of packs at " + dir + ": give a directory holding .kpack files");
        HttpServer http = HttpServer.create(new InetSocketAddress(bind, port), 0);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "kiln-pack-server");
            t.setDaemon(true);
            return t;
        });
        PackServer server = new PackServer(dir.toRealPath(), http, pool, log);
        http.setExecutor(pool);
        http.createContext("/", server::handle);
        http.start();
        return server;
    }

    /** The port it listens on (the one picked when started with 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The URL it serves, for {@code --cache-url}. */
    public String url() {
        String host = http.getAddress().getHostString();
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port() + "/";
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        http.stop(0);
        pool.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        try (ex) {
            respond(ex, method, path);
        } catch (IOException | RuntimeException e) {
            log.accept(method + " " + path + " failed: " + e.getMessage());
        }
    }

    /**
     * Logs the request with its status, then sends the status line and headers: logged before
     * the client can see the answer, so the log is in the order the clients were answered.
     */
    private void answer(HttpExchange ex, int status, long length) throws IOException {
        log.accept(ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath() + " " + status);
        ex.sendResponseHeaders(status, length);
    }

    private void respond(HttpExchange ex, String method, String path) throws IOException {
        boolean head = method.equals("HEAD");
        if (!head && !method.equals("GET")) {
            ex.getResponseHeaders().set("Allow", "GET, HEAD");
            send(ex, 405, "text/plain; charset=utf-8", "this pack cache is read-only: GET or HEAD only\n", head);
            return;
        }
        if (path.equals("/index.json")) {
            send(ex, 200, "application/json", index(), head);
            return;
        }
        Optional<Path> file = path.startsWith("/") ? servable(path.substring(1)) : Optional.empty();
        if (file.isEmpty()) send(ex, 404, "text/plain; charset=utf-8", "no such pack: see /index.json\n", head);
        else sendPack(ex, file.get(), head);
    }

    private void sendPack(HttpExchange ex, Path file, boolean head) throws IOException {
        String etag = "\"" + sha256(file) + "\"";
        ex.getResponseHeaders().set("ETag", etag);
        ex.getResponseHeaders().set("Content-Type", "application/octet-stream");
        String ifNoneMatch = ex.getRequestHeaders().getFirst("If-None-Match");
        if (ifNoneMatch != null && matches(ifNoneMatch, etag)) {
            answer(ex, 304, -1);
            return;
        }
        try (InputStream in = Files.newInputStream(file)) {
            // The length of what is sent, not what was hashed: a file replaced in between gets a fresh
            // ETag on the next request, and the pull checks the pack's own checksum anyway.
            long size = Files.size(file);
            ex.getResponseHeaders().set("Content-Length", Long.toString(size));
            if (head) {
                answer(ex, 200, -1);
                return;
            }
            answer(ex, 200, size);
            try (OutputStream out = ex.getResponseBody()) {
                in.transferTo(new BoundedOutput(out, size));
            }
        }
    }

    /** Whether an {@code If-None-Match} value (a list of ETags, or {@code *}) names {@code etag}. */
    static boolean matches(String ifNoneMatch, String etag) {
        for (String tag : ifNoneMatch.split(",")) {
            String t = tag.strip();
            if (t.equals("*") || t.equals(etag) || t.equals("W/" + etag)) return true;
        }
        return false;
    }

    private void send(HttpExchange ex, int status, String type, String text, boolean head) throws IOException {
        send(ex, status, type, text.getBytes(StandardCharsets.UTF_8), head);
    }

    private void send(HttpExchange ex, int status, String type, byte[] body, boolean head) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
        if (head) {
            answer(ex, status, -1);
            return;
        }
        answer(ex, status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    /**
     * The file a request names, if the server may send it: a plain name of a regular file at the
     * folder's top level, found there after following links.
     */
    private Optional<Path> servable(String name) {
        if (!NAME.matcher(name).matches() || name.contains("..")) return Optional.empty();
        Path file = dir.resolve(name);
        try {
            Path real = file.toRealPath();
            if (!dir.equals(real.getParent()) || !Files.isRegularFile(real)) return Optional.empty();
            return Optional.of(real);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The index's JSON, built again when the folder's packs (names, sizes, times) have changed. */
    private synchronized byte[] index() throws IOException {
        List<Path> packs = new ArrayList<>();
        StringBuilder listing = new StringBuilder();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.kpack")) {
            for (Path p : ds) packs.add(p);
        }
        packs.sort(null);
        for (Path p : packs) {
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(p, BasicFileAttributes.class);
            } catch (IOException e) {
                continue; // gone since the listing
            }
            listing.append(p.getFileName()).append('\t').append(a.size()).append('\t').append(a.lastModifiedTime().toMillis()).append('\n');
        }
        if (!listing.toString().equals(index.listing())) index = new Index(listing.toString(), buildIndex(packs));
        return index.json();
    }

    private byte[] buildIndex(List<Path> packs) {
        JsonArray entries = new JsonArray();
        for (Path p : packs) {
            String name = p.getFileName().toString();
            Optional<Path> file = servable(name);
            if (file.isEmpty()) {
                log.accept("left out of the index: " + name + " (not a plain name of a file in " + dir + ")");
                continue;
            }
            try {
                Pack.Header h = Pack.readHeader(file.get());
                JsonObject o = new JsonObject();
                o.addProperty("name", name);
                JsonArray ts = new JsonArray();
                h.targets().forEach(ts::add);
                o.add("targets", ts);
                o.addProperty("workloads", h.workloads());
                o.addProperty("records", h.records());
                o.addProperty("bytes", Files.size(file.get()));
                o.addProperty("created", h.created().toString());
                o.addProperty("etag", "\"" + sha256(file.get()) + "\"");
                entries.add(o);
            } catch (PackException | IOException e) {
                log.accept("left out of the index: " + name + ": " + e.getMessage());
            }
        }
        return new GsonBuilder().disableHtmlEscaping().setPrettyPrinting().create().toJson(entries).getBytes(StandardCharsets.UTF_8);
    }

    /** The SHA-256 of a file's bytes, computed again only when its size or modification time changed. */
    private String sha256(Path file) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        Digest d = digests.get(file);
        if (d != null && d.size() == a.size() && d.mtime() == a.lastModifiedTime().toMillis()) return d.sha256();
        String sum = fileSha256(file);
        digests.put(file, new Digest(a.size(), a.lastModifiedTime().toMillis(), sum));
        return sum;
    }

    /** The SHA-256 of a file's bytes, in hex. */
    static String fileSha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Passes on at most {@code limit} bytes: a file that grew after its length was sent is cut there. */
    private static final class BoundedOutput extends OutputStream {
        private final OutputStream out;
        private long left;

        BoundedOutput(OutputStream out, long limit) {
            this.out = out;
            this.left = limit;
        }

        @Override
        public void write(int b) throws IOException {
            if (left > 0) {
                out.write(b);
                left--;
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            int n = (int) Math.min(len, left);
            if (n > 0) out.write(b, off, n);
            left -= n;
        }
    }
}
