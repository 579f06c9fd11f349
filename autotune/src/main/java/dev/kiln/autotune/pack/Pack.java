package dev.kiln.autotune.pack;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.kiln.autotune.db.RecordJson;
import dev.kiln.autotune.db.TuningRecord;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;

/**
 * A pack of tuned configs ({@code .kpack}): the file {@code kiln cache export} writes and
 * {@code kiln cache import} and the pull cache read. Format version 1, UTF-8 text:
 *
 * <pre>
 * line 1   the header, one JSON object: {"format":"kiln-pack","version":1,"created":ISO-8601,
 *          "kiln":VERSION,"llvm":VERSION,"targets":[...],"workloads":N,"records":M,
 *          "bodyBytes":B,"sha256":HEX}
 * then     the body, exactly B bytes whose SHA-256 is HEX: N lines, one {@link PackEntry} each,
 *          {"target":T,"workloadKey":K,"canonical":TEXT,"records":[record, ...]} with each record
 *          as {@code kiln db export} writes one, sorted by target and workload key
 * </pre>
 *
 * A pack holds configs and measurements, never code. Reading is bounded: a file over
 * {@link #MAX_BYTES}, a header over {@link #MAX_HEADER}, an entry line over {@link #MAX_LINE} or
 * with more than {@link #MAX_RECORDS_PER_ENTRY} records, a truncated body, a checksum that does not
 * match, counts that differ from the header's or a newer format version are refused before
 * anything is imported.
 */
public final class Pack {
    public static final String FORMAT = "kiln-pack";
    public static final int VERSION = 1;
    public static final long MAX_BYTES = 128L << 20;
    static final int MAX_HEADER = 64 << 10;
    static final int MAX_LINE = 1 << 20;
    static final int MAX_RECORDS_PER_ENTRY = 2;

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    /** What a pack's first line says about it. */
    public record Header(int version, Instant created, String kilnVersion, String llvmVersion, List<String> targets,
                         long workloads, long records, long bodyBytes, String sha256) {
        String toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("format", FORMAT);
            o.addProperty("version", version);
            o.addProperty("created", created.toString());
            o.addProperty("kiln", kilnVersion);
            o.addProperty("llvm", llvmVersion);
            JsonArray ts = new JsonArray();
            targets.forEach(ts::add);
            o.add("targets", ts);
            o.addProperty("workloads", workloads);
            o.addProperty("records", records);
            o.addProperty("bodyBytes", bodyBytes);
            o.addProperty("sha256", sha256);
            return GSON.toJson(o);
        }
    }

    private final Header header;
    private final List<PackEntry> entries;

    private Pack(Header header, List<PackEntry> entries) {
        this.header = header;
        this.entries = List.copyOf(entries);
    }

    public Header header() {
        return header;
    }

    public List<PackEntry> entries() {
        return entries;
    }

    /**
     * Writes {@code entries} as a pack at {@code file}: beside it first, then moved into place, so
     * a reader never sees half a pack. Returns its header.
     */
    public static Header write(Path file, List<PackEntry> entries, String kilnVersion, String llvmVersion) {
        List<PackEntry> sorted = new ArrayList<>(entries);
        sorted.sort((a, b) -> a.target().equals(b.target()) ? a.workloadKey().compareTo(b.workloadKey()) : a.target().compareTo(b.target()));
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        TreeSet<String> targets = new TreeSet<>();
        long records = 0;
        for (PackEntry e : sorted) {
            targets.add(e.target());
            records += e.records().size();
            body.writeBytes(entryJson(e).getBytes(StandardCharsets.UTF_8));
            body.write('\n');
        }
        byte[] bytes = body.toByteArray();
        Header h = new Header(VERSION, Instant.now(), kilnVersion, llvmVersion, List.copyOf(targets), sorted.size(), records,
                bytes.length, sha256(bytes));
        Path target = file.toAbsolutePath();
        Path tmp = target.resolveSibling(target.getFileName() + ".part");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                out.write((h.toJson() + "\n").getBytes(StandardCharsets.UTF_8));
                out.write(bytes);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // The write already failed; report that.
            }
            throw new PackException("cannot write pack " + file + ": " + e.getMessage() + ". Check that the directory exists and is writable.", e);
        }
        return h;
    }

    /** Reads only the header of the pack at {@code file} (after checking its size); the body is not checked. */
    public static Header readHeader(Path file) {
        long size = size(file);
        try (InputStream in = Files.newInputStream(file)) {
            return header(file, in, size);
        } catch (IOException e) {
            throw new PackException("cannot read pack " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads and checks the whole pack at {@code file}: size, header, body length and checksum,
     * every entry's shape and the counts. Nothing about the workloads' config spaces: that is
     * {@link Packs#importInto}'s check.
     */
    public static Pack read(Path file) {
        long size = size(file);
        try (InputStream in = Files.newInputStream(file)) {
            Header h = header(file, in, size);
            byte[] body = in.readNBytes((int) Math.min(h.bodyBytes() + 1, MAX_BYTES));
            if (body.length < h.bodyBytes())
                throw bad(file, "is truncated: its header announces " + h.bodyBytes() + " bytes of body, the file holds " + body.length);
            if (body.length > h.bodyBytes())
                throw bad(file, "has bytes after the " + h.bodyBytes() + " its header announces");
            String sum = sha256(body);
            if (!sum.equals(h.sha256()))
                throw bad(file, "fails its checksum: the body's SHA-256 is " + sum + ", the header says " + h.sha256()
                        + " (damaged in transfer or edited)");
            List<PackEntry> entries = new ArrayList<>();
            long records = 0;
            int lineNo = 1;
            int start = 0;
            for (int i = 0; i < body.length; i++) {
                if (body[i] != '\n') continue;
                lineNo++;
                if (i - start > MAX_LINE) throw bad(file, "line " + lineNo + " is longer than " + MAX_LINE + " bytes");
                PackEntry e = entry(file, lineNo, new String(body, start, i - start, StandardCharsets.UTF_8));
                records += e.records().size();
                entries.add(e);
                start = i + 1;
            }
            if (start != body.length) throw bad(file, "does not end its last entry with a newline (truncated?)");
            if (entries.size() != h.workloads() || records != h.records())
                throw bad(file, "holds " + entries.size() + " workloads and " + records + " records, its header says "
                        + h.workloads() + " and " + h.records());
            return new Pack(h, entries);
        } catch (IOException e) {
            throw new PackException("cannot read pack " + file + ": " + e.getMessage(), e);
        }
    }

    private static long size(Path file) {
        if (!Files.isRegularFile(file)) throw new PackException("no pack at " + file + ": give the path of a .kpack file");
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES)
                throw bad(file, "is " + size + " bytes, more than the " + MAX_BYTES + " a pack may have");
            return size;
        } catch (IOException e) {
            throw new PackException("cannot read pack " + file + ": " + e.getMessage(), e);
        }
    }

    private static Header header(Path file, InputStream in, long size) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) throw bad(file, "ends inside its header line (empty or truncated)");
            if (line.size() >= MAX_HEADER) throw bad(file, "has no header line within " + MAX_HEADER + " bytes: not a Kiln pack");
            line.write(c);
        }
        JsonObject o;
        try {
            o = JsonParser.parseString(line.toString(StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw bad(file, "does not start with a pack header (a JSON object): not a Kiln pack");
        }
        try {
            if (!FORMAT.equals(string(o, "format"))) throw bad(file, "is not a Kiln pack (format '" + string(o, "format") + "')");
            int version = (int) number(o, "version");
            if (version > VERSION)
                throw bad(file, "has format version " + version + ", newer than the " + VERSION + " this Kiln reads: upgrade Kiln");
            if (version < 1) throw bad(file, "has format version " + version);
            List<String> targets = new ArrayList<>();
            JsonElement ts = o.get("targets");
            if (ts == null || !ts.isJsonArray()) throw new IllegalArgumentException("field 'targets' is not an array");
            for (JsonElement t : ts.getAsJsonArray()) targets.add(t.getAsString());
            long bodyBytes = number(o, "bodyBytes");
            if (bodyBytes < 0 || bodyBytes > size) throw bad(file, "is truncated: its header announces " + bodyBytes
                    + " bytes of body, the whole file has " + size);
            String sha = string(o, "sha256");
            if (!sha.matches("[0-9a-f]{64}")) throw new IllegalArgumentException("field 'sha256' is not 64 hex digits");
            return new Header(version, Instant.parse(string(o, "created")), string(o, "kiln"), string(o, "llvm"), List.copyOf(targets),
                    number(o, "workloads"), number(o, "records"), bodyBytes, sha);
        } catch (IllegalArgumentException | IllegalStateException | DateTimeParseException | UnsupportedOperationException e) {
            if (e instanceof PackException p) throw p;
            throw bad(file, "has a bad header: " + e.getMessage());
        }
    }

    private static String entryJson(PackEntry e) {
        JsonObject o = new JsonObject();
        o.addProperty("target", e.target());
        o.addProperty("workloadKey", e.workloadKey());
        o.addProperty("canonical", e.canonical());
        JsonArray rs = new JsonArray();
        for (TuningRecord r : e.records()) rs.add(JsonParser.parseString(RecordJson.toJson(r)));
        o.add("records", rs);
        return GSON.toJson(o);
    }

    private static PackEntry entry(Path file, int lineNo, String line) {
        try {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            JsonElement rs = o.get("records");
            if (rs == null || !rs.isJsonArray()) throw new IllegalArgumentException("field 'records' is not an array");
            JsonArray a = rs.getAsJsonArray();
            if (a.isEmpty() || a.size() > MAX_RECORDS_PER_ENTRY)
                throw new IllegalArgumentException("an entry holds 1 to " + MAX_RECORDS_PER_ENTRY + " records, this one " + a.size());
            List<TuningRecord> records = new ArrayList<>();
            for (JsonElement r : a) records.add(RecordJson.fromJson(GSON.toJson(r)));
            return new PackEntry(string(o, "target"), string(o, "workloadKey"), string(o, "canonical"), records);
        } catch (IllegalArgumentException | IllegalStateException | JsonParseException | UnsupportedOperationException e) {
            throw bad(file, "line " + lineNo + " is not a pack entry: " + e.getMessage());
        }
    }

    private static String string(JsonObject o, String name) {
        JsonElement e = o.get(name);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString())
            throw new IllegalArgumentException("field '" + name + "' is missing or not a string");
        return e.getAsString();
    }

    private static long number(JsonObject o, String name) {
        JsonElement e = o.get(name);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber())
            throw new IllegalArgumentException("field '" + name + "' is missing or not a number");
        return e.getAsLong();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static PackException bad(Path file, String what) {
        return new PackException("pack " + file + " " + what + ".");
    }
}
