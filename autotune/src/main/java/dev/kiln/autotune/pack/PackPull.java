package dev.kiln.autotune.pack;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.kiln.autotune.db.TuningDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The pull cache: brings the packs of a target from a shared place into the local tuning database.
 * The place is a folder served by {@link PackServer} ({@code http(s)://HOST:PORT/[path/]}, read
 * through its {@code index.json}), one pack ({@code http(s)://.../NAME.kpack}), or the same on disk
 * ({@code file:///dir/}, {@code file:///dir/NAME.kpack}). Each pack is asked for with the ETag it
 * had when last pulled ({@link TuningDatabase#pulledEtag}), so one that has not changed is not read
 * again; one that has is read into a temporary file (at most {@link Pack#MAX_BYTES}), imported by
 * {@link Packs#importInto} all or nothing, and only then remembered with its new ETag.
 *
 * <p>A pull never fails a compile: a place that cannot be reached (offline, server down, an HTTP
 * error) gives one warning line for the whole pull and the local records are used as they are; a
 * pack that is refused gives one warning line naming it, and the other packs are still pulled.
 * Credentials in the URL ({@code https://user:token@host/}) are sent as basic authentication and
 * never printed or stored.
 */
public final class PackPull {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
    /** The most an index may be: thousands of packs' entries. */
    static final int MAX_INDEX = 8 << 20;
    private static final int MAX_ETAG = 256;

    private PackPull() {}

    /**
     * What a pull did. {@code reached} is false when the place could not be reached at all; then
     * {@code warnings} holds the one line that said so.
     */
    public record Result(String source, String target, boolean reached, int fetched, int upToDate, long added, List<String> warnings) {
        public Result {
            warnings = List.copyOf(warnings);
        }

        /** One line for the user: what was pulled, or the warning that nothing could be. */
        public String summary() {
            if (!reached) return warnings.getFirst();
            if (fetched == 0 && upToDate == 0 && warnings.isEmpty()) return "pulled from " + source + ": no pack there holds configs for " + target;
            return "pulled from " + source + ": " + fetched + (fetched == 1 ? " pack" : " packs") + " fetched (" + added + " new records), "
                    + upToDate + " up to date" + (warnings.isEmpty() ? "" : ", " + warnings.size() + " refused");
        }
    }

    /**
     * Pulls the packs for {@code targetName} from {@code url} into {@code db}. Warnings go to
     * {@code out} as they happen, one line each, and are in the result too. Throws
     * {@link PackException} only for a URL that is not one of the forms above; a database that
     * fails is not the cache's fault and is thrown as it is.
     */
    /**
     * Pulls the packs of every name whose records fit the target ({@code Target#recordTargets}: a VNNI
     * target's own, then the target it extends), stopping at an unreachable cache; returns the lines to
     * show: the first name's summary, and the others' where they found packs.
     */
    public static List<String> pullFor(String url, TuningDatabase db, List<String> targetNames, Consumer<String> out) {
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < targetNames.size(); i++) {
            Result r = pull(url, db, targetNames.get(i), out);
            if (!r.reached()) break;
            if (i == 0 || r.fetched() + r.upToDate() > 0) lines.add(r.summary());
        }
        return lines;
    }

    public static Result pull(String url, TuningDatabase db, String targetName, Consumer<String> out) {
        Place place = Place.of(url);
        Pulling p = new Pulling(place, db, targetName, out);
        try {
            if (place.uri().getScheme().equals("file")) p.fromFiles();
            else p.fromHttp();
        } catch (Unreachable e) {
            p.warn("warning: cannot reach the pack cache " + place.shown() + " (" + place.redact(e.getMessage()) + "); using the local tuning records");
            return new Result(place.shown(), targetName, false, p.fetched, p.upToDate, p.added, p.warnings);
        }
        return new Result(place.shown(), targetName, true, p.fetched, p.upToDate, p.added, p.warnings);
    }

    /**
     * A {@code --cache-url}: its URI, how it may be shown (no user info, no query: either may hold
     * a secret) and the basic-authentication header its user info makes, if any.
     */
    record Place(URI uri, String shown, String userInfo) {
        static Place of(String url) {
            URI uri;
            try {
                uri = new URI(url.strip());
            } catch (URISyntaxException e) {
                throw new PackException("--cache-url is not a URL (" + e.getReason() + "): give http(s)://HOST:PORT/, "
                        + "http(s)://HOST/NAME.kpack, file:///DIR/ or file:///DIR/NAME.kpack");
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") && !scheme.equals("file"))
                throw new PackException("--cache-url " + shown(uri) + ": the pack cache is reached by http, https or file URLs, "
                        + "e.g. http://HOST:8080/ of a 'kiln cache serve' or file:///DIR/");
            if (!scheme.equals("file") && uri.getHost() == null)
                throw new PackException("--cache-url " + shown(uri) + " names no host: give http(s)://HOST:PORT/");
            return new Place(uri, shown(uri), uri.getRawUserInfo());
        }

        /** {@code uri} without its user info and query. */
        static String shown(URI uri) {
            if (uri.getRawAuthority() == null && uri.getScheme() != null && uri.getScheme().equalsIgnoreCase("file"))
                return "file://" + (uri.getRawPath() == null ? "" : uri.getRawPath());
            StringBuilder s = new StringBuilder();
            if (uri.getScheme() != null) s.append(uri.getScheme()).append("://");
            if (uri.getHost() != null) s.append(uri.getHost());
            if (uri.getPort() >= 0) s.append(':').append(uri.getPort());
            if (uri.getRawPath() != null) s.append(uri.getRawPath());
            return s.length() == 0 ? "(not shown)" : s.toString();
        }

        /** {@code text} with this URL's user info taken out. */
        String redact(String text) {
            return userInfo == null || userInfo.isEmpty() ? text : text.replace(userInfo, "***");
        }

        Optional<String> authorization() {
            if (userInfo == null || userInfo.isEmpty()) return Optional.empty();
            String decoded = uri.getUserInfo();
            return Optional.of("Basic " + Base64.getEncoder().encodeToString(decoded.getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** The place could not be reached or did not answer as a pack cache: the pull stops with one warning. */
    private static final class Unreachable extends Exception {
        Unreachable(String reason) {
            super(reason, null, false, false);
        }
    }

    /** One pack to pull: its name, where it is, and the key its ETag is remembered under. */
    private record Source(String name, URI uri, String key) {}

    /** A pack read into a temporary file, with its ETag; or refused for its size. */
    private record Download(Path file, String etag, long tooBig) {}

    /** The state of one pull. */
    private static final class Pulling {
        final Place place;
        final TuningDatabase db;
        final String target;
        final Consumer<String> out;
        final List<String> warnings = new ArrayList<>();
        int fetched;
        int upToDate;
        long added;

        Pulling(Place place, TuningDatabase db, String target, Consumer<String> out) {
            this.place = place;
            this.db = db;
            this.target = target;
            this.out = out;
        }

        void warn(String line) {
            String one = line.replaceAll("\\s*\\R\\s*", " ");
            warnings.add(one);
            out.accept(one);
        }

        // ---- file: a folder or one pack on disk ----

        void fromFiles() throws Unreachable {
            Path path;
            try {
                path = Path.of(place.uri());
            } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
                throw new PackException("--cache-url " + place.shown() + " is not a local file URL: give file:///DIR/ or file:///DIR/NAME.kpack");
            }
            if (path.getFileName() != null && path.getFileName().toString().endsWith(".kpack") && !Files.isDirectory(path)) {
                if (!Files.isRegularFile(path)) throw new Unreachable("no pack at " + path);
                pullFile(path);
                return;
            }
            if (!Files.isDirectory(path)) throw new Unreachable("no folder at " + path);
            List<Path> packs = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(path, "*.kpack")) {
                for (Path p : ds) if (PackServer.NAME.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p)) packs.add(p);
            } catch (IOException e) {
                throw new Unreachable("cannot list " + path + ": " + e.getMessage());
            }
            packs.sort(null);
            for (Path p : packs) {
                try {
                    if (!Pack.readHeader(p).targets().contains(target)) continue;
                } catch (PackException e) {
                    warn("warning: pack " + p.getFileName() + " from " + place.shown() + " not imported: " + e.getMessage());
                    continue;
                }
                pullFile(p);
            }
        }

        /** A pack on disk: its ETag is its SHA-256, which reading it into the temporary file gives. */
        void pullFile(Path file) throws Unreachable {
            String name = file.getFileName().toString();
            Path tmp = temp();
            try {
                long size;
                try {
                    size = Files.size(file);
                } catch (IOException e) {
                    throw new Unreachable("cannot read " + file + ": " + e.getMessage());
                }
                if (size > Pack.MAX_BYTES) {
                    tooBig(name, size);
                    return;
                }
                String etag;
                try (InputStream in = Files.newInputStream(file)) {
                    etag = copy(in, tmp);
                } catch (IOException e) {
                    throw new Unreachable("cannot read " + file + ": " + e.getMessage());
                }
                if (etag == null) tooBig(name, -1);
                else take(new Source(name, file.toUri(), file.toUri().toString()), new Download(tmp, etag, 0));
            } finally {
                delete(tmp);
            }
        }

        // ---- http(s): a folder served with an index, or one pack ----

        void fromHttp() throws Unreachable {
            HttpClient client = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                    .proxy(java.net.ProxySelector.getDefault()) // -Dhttps.proxyHost and the like, as the JDK reads them
                    // Credentials go to the host they were written for, not wherever a redirect points.
                    .followRedirects(place.userInfo() == null ? HttpClient.Redirect.NORMAL : HttpClient.Redirect.NEVER).build();
            URI uri = place.uri();
            String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
            if (path.endsWith(".kpack")) {
                String name = path.substring(path.lastIndexOf('/') + 1);
                pullHttp(client, new Source(name, uri, place.shown()));
                return;
            }
            URI base = withPath(uri, path.endsWith("/") ? path : path + "/");
            for (Source s : index(client, base)) pullHttp(client, s);
        }

        /** The packs of the index at {@code base} that hold configs for the target. */
        List<Source> index(HttpClient client, URI base) throws Unreachable {
            URI indexUri = base.resolve("index.json");
            byte[] body = deadline(() -> {
                HttpResponse<InputStream> r = client.send(request(indexUri).build(), HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream in = r.body()) {
                    if (r.statusCode() != 200) throw new Unreachable("HTTP " + r.statusCode() + " for index.json");
                    byte[] b = in.readNBytes(MAX_INDEX + 1);
                    if (b.length > MAX_INDEX) throw new Unreachable("its index.json is over " + MAX_INDEX + " bytes");
                    return b;
                }
            });
            List<Source> packs = new ArrayList<>();
            JsonArray entries;
            try {
                entries = JsonParser.parseString(new String(body, StandardCharsets.UTF_8)).getAsJsonArray();
            } catch (JsonParseException | IllegalStateException e) {
                throw new Unreachable("its index.json is not a list of packs; is it a 'kiln cache serve'?");
            }
            for (JsonElement e : entries) {
                try {
                    JsonObject o = e.getAsJsonObject();
                    String name = o.get("name").getAsString();
                    if (!PackServer.NAME.matcher(name).matches()) {
                        warn("warning: the index of " + place.shown() + " names '" + name + "', not a plain pack name: left out");
                        continue;
                    }
                    boolean forTarget = false;
                    for (JsonElement t : o.get("targets").getAsJsonArray()) forTarget |= t.getAsString().equals(target);
                    if (!forTarget) continue;
                    URI u = base.resolve(name);
                    packs.add(new Source(name, u, Place.shown(u)));
                } catch (RuntimeException bad) {
                    warn("warning: the index of " + place.shown() + " has an entry that is not a pack's: " + shorten(e.toString()));
                }
            }
            return packs;
        }

        void pullHttp(HttpClient client, Source s) throws Unreachable {
            Optional<String> known = db.pulledEtag(s.key());
            Path tmp = temp();
            try {
                Download d = deadline(() -> {
                    HttpRequest.Builder req = request(s.uri());
                    known.ifPresent(etag -> req.header("If-None-Match", etag));
                    HttpResponse<InputStream> r = client.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
                    try (InputStream in = r.body()) {
                        if (r.statusCode() == 304) return null;
                        if (r.statusCode() != 200) throw new Unreachable("HTTP " + r.statusCode() + " for " + s.name());
                        long declared = r.headers().firstValueAsLong("Content-Length").orElse(-1);
                        if (declared > Pack.MAX_BYTES) return new Download(null, null, declared);
                        String sum = copy(in, tmp);
                        if (sum == null) return new Download(null, null, -1);
                        String etag = r.headers().firstValue("ETag").filter(t -> t.length() <= MAX_ETAG).orElse(sum);
                        return new Download(tmp, etag, 0);
                    }
                });
                if (d == null) upToDate++;
                else if (d.file() == null) tooBig(s.name(), d.tooBig());
                else take(s, d);
            } finally {
                delete(tmp);
            }
        }

        HttpRequest.Builder request(URI uri) {
            HttpRequest.Builder b = HttpRequest.newBuilder(withoutUserInfo(uri)).timeout(REQUEST_TIMEOUT).GET();
            place.authorization().ifPresent(a -> b.header("Authorization", a));
            return b;
        }

        // ---- both ----

        /** Imports a downloaded pack unless its ETag is the one already pulled; remembers it once imported. */
        void take(Source s, Download d) {
            if (db.pulledEtag(s.key()).filter(d.etag()::equals).isPresent()) {
                upToDate++;
                return;
            }
            Packs.ImportReport report;
            try {
                report = Packs.importInto(db, d.file());
            } catch (PackException e) {
                // The import names the file it read, a temporary one here: name the pack instead.
                String why = e.getMessage().replace("pack " + d.file() + " ", "").replace(d.file().toString(), s.name());
                warn("warning: pack " + s.name() + " from " + place.shown() + " not imported: " + place.redact(why));
                return;
            }
            db.pulled(s.key(), d.etag());
            fetched++;
            added += report.added();
        }

        void tooBig(String name, long bytes) {
            warn("warning: pack " + name + " from " + place.shown() + " not imported: it is " + (bytes > 0 ? bytes + " bytes" : "larger")
                    + ", more than the " + Pack.MAX_BYTES + " a pack may have");
        }

        /**
         * Runs {@code work} (an HTTP exchange, body included) on a thread of its own for at most
         * {@link #REQUEST_TIMEOUT}: the client's own timeout covers only the wait for the headers.
         */
        private <T> T deadline(Callable<T> work) throws Unreachable {
            FutureTask<T> task = new FutureTask<>(work);
            Thread.ofVirtual().name("kiln-pull").start(task);
            try {
                return task.get(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                task.cancel(true);
                throw new Unreachable("no complete answer within " + REQUEST_TIMEOUT.toSeconds() + " s");
            } catch (InterruptedException e) {
                task.cancel(true);
                Thread.currentThread().interrupt();
                throw new Unreachable("interrupted");
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof Unreachable u) throw u;
                if (c instanceof IOException io) throw new Unreachable(reason(io));
                if (c instanceof RuntimeException r) throw r;
                throw new IllegalStateException(c);
            }
        }
    }

    /**
     * Copies {@code in} into {@code file}, at most {@link Pack#MAX_BYTES}; returns the strong ETag
     * of what was read (its SHA-256, quoted), or null when there was more than that.
     */
    static String copy(InputStream in, Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
        long total = 0;
        byte[] buf = new byte[1 << 16];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                total += n;
                if (total > Pack.MAX_BYTES) return null;
                md.update(buf, 0, n);
                out.write(buf, 0, n);
            }
        }
        return "\"" + HexFormat.of().formatHex(md.digest()) + "\"";
    }

    /** What went wrong in words: the first message down the causes (a refused connection has none at the top). */
    static String reason(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.net.http.HttpConnectTimeoutException) return "no connection within " + CONNECT_TIMEOUT.toSeconds() + " s";
            if (c instanceof java.net.ConnectException && (c.getMessage() == null || c.getMessage().isBlank())) continue;
            if (c instanceof java.nio.channels.UnresolvedAddressException || c instanceof java.net.UnknownHostException) return "unknown host";
            if (c.getMessage() != null && !c.getMessage().isBlank()) return c.getMessage().strip().toLowerCase(java.util.Locale.ROOT);
        }
        return t instanceof java.net.ConnectException ? "connection refused" : t.getClass().getSimpleName();
    }

    private static String shorten(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    private static URI withPath(URI uri, String rawPath) {
        return URI.create(uri.getScheme() + "://" + uri.getRawAuthority() + rawPath);
    }

    private static URI withoutUserInfo(URI uri) {
        if (uri.getRawUserInfo() == null) return uri;
        String host = uri.getHost(); // an IPv6 literal comes with its brackets
        return URI.create(uri.getScheme() + "://" + host + (uri.getPort() >= 0 ? ":" + uri.getPort() : "")
                + (uri.getRawPath() == null ? "" : uri.getRawPath()) + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()));
    }

    private static Path temp() {
        try {
            return Files.createTempFile("kiln-pull-", ".kpack");
        } catch (IOException e) {
            throw new PackException("cannot make a temporary file for a pulled pack: " + e.getMessage() + ". Check java.io.tmpdir.", e);
        }
    }

    private static void delete(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // A temporary file left behind is the system's to clean; the pull's result stands.
        }
    }
}
