package dev.kiln.autotune.db;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The portable form of a {@link TuningRecord}: one JSON object with a fixed field order, used for
 * export files and, hashed, as the key that makes an exact duplicate recognisable on import.
 */
public final class RecordJson {
    // No HTML escaping, so a config reads "tile_x=8", not "tile_x\u003d8".
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private RecordJson() {
    }

    public static String toJson(TuningRecord r) {
        JsonObject o = new JsonObject();
        o.addProperty("target", r.target());
        o.addProperty("workloadKey", r.workloadKey());
        o.addProperty("workloadDesc", r.workloadDesc());
        o.addProperty("config", r.config());
        o.addProperty("trace", r.trace());
        o.add("costsSeconds", costsJson(r.costsSeconds()));
        o.addProperty("errorCode", r.errorCode().name());
        if (r.errorMessage() != null) o.addProperty("errorMessage", r.errorMessage());
        o.addProperty("flops", r.flops());
        o.addProperty("timestamp", r.timestamp().toString());
        o.addProperty("kilnVersion", r.kilnVersion());
        o.addProperty("deviceKey", r.deviceKey());
        o.addProperty("tuner", r.tuner());
        o.addProperty("trial", r.trial());
        o.addProperty("runId", r.runId());
        // Only where present, so that a record without them keeps the JSON (and the key) older Kilns gave it.
        if (!r.conditions().isEmpty()) o.addProperty("conditions", r.conditions());
        if (r.referenceCost() > 0) o.addProperty("referenceCost", r.referenceCost());
        if (!r.provenance().isEmpty()) {
            Provenance p = r.provenance();
            JsonObject po = new JsonObject();
            po.addProperty("llvmVersion", p.llvmVersion());
            po.addProperty("device", p.device());
            po.addProperty("features", p.features());
            po.addProperty("trials", p.trials());
            o.add("provenance", po);
        }
        return GSON.toJson(o);
    }

    /** Parses {@link #toJson}; throws IllegalArgumentException naming the missing or bad field. */
    public static TuningRecord fromJson(String line) {
        JsonObject o;
        try {
            o = JsonParser.parseString(line).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException("not a JSON object: " + e.getMessage(), e);
        }
        String code = string(o, "errorCode");
        ErrorCode errorCode;
        try {
            errorCode = ErrorCode.valueOf(code);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown errorCode '" + code + "' (this Kiln knows "
                    + List.of(ErrorCode.values()) + ")");
        }
        Instant timestamp;
        try {
            timestamp = Instant.parse(string(o, "timestamp"));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("timestamp is not an ISO-8601 instant: " + e.getParsedString());
        }
        JsonElement message = o.get("errorMessage");
        return new TuningRecord(string(o, "target"), string(o, "workloadKey"), string(o, "workloadDesc"),
                string(o, "config"), string(o, "trace"), costs(field(o, "costsSeconds").toString()), errorCode,
                message == null || message.isJsonNull() ? null : message.getAsString(),
                number(o, "flops").doubleValue(), timestamp, string(o, "kilnVersion"), string(o, "deviceKey"),
                string(o, "tuner"), number(o, "trial").longValue(), string(o, "runId"),
                o.has("conditions") ? string(o, "conditions") : "", o.has("referenceCost") ? number(o, "referenceCost").doubleValue() : 0,
                provenance(o));
    }

    private static Provenance provenance(JsonObject record) {
        JsonElement e = record.get("provenance");
        if (e == null || e.isJsonNull()) return Provenance.NONE;
        if (!e.isJsonObject()) throw new IllegalArgumentException("field 'provenance' is not an object: " + e);
        JsonObject p = e.getAsJsonObject();
        return new Provenance(string(p, "llvmVersion"), string(p, "device"), string(p, "features"), number(p, "trials").longValue());
    }

    static String costsText(List<Double> costs) {
        return GSON.toJson(costsJson(costs));
    }

    static List<Double> costs(String text) {
        JsonElement e = JsonParser.parseString(text);
        if (!e.isJsonArray()) throw new IllegalArgumentException("costsSeconds is not an array: " + text);
        List<Double> costs = new ArrayList<>();
        for (JsonElement c : e.getAsJsonArray()) costs.add(c.getAsDouble());
        return costs;
    }

    /** SHA-256 of the canonical JSON: equal exactly when every field is equal. */
    static String key(TuningRecord r) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(toJson(r).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static JsonArray costsJson(List<Double> costs) {
        JsonArray a = new JsonArray();
        for (double c : costs) a.add(c);
        return a;
    }

    private static JsonElement field(JsonObject o, String name) {
        JsonElement e = o.get(name);
        if (e == null || e.isJsonNull()) throw new IllegalArgumentException("field '" + name + "' is missing");
        return e;
    }

    private static String string(JsonObject o, String name) {
        JsonElement e = field(o, name);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString())
            throw new IllegalArgumentException("field '" + name + "' is not a string: " + e);
        return e.getAsString();
    }

    private static Number number(JsonObject o, String name) {
        JsonElement e = field(o, name);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber())
            throw new IllegalArgumentException("field '" + name + "' is not a number: " + e);
        return e.getAsNumber();
    }
}
