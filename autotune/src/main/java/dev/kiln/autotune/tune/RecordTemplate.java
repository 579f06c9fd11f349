package dev.kiln.autotune.tune;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.RecordJson;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.runner.proto.MeasureResult;
import java.time.Instant;
import java.util.List;

/**
 * The tuning record of a measurement before it is taken: everything but the costs or error, the
 * time and the device. {@link #complete} is the one place a result turns into a record, used by
 * the tuning loop and by a fleet board, which writes the record when it completes the job: both
 * build the same record from the same result, so the second write is an exact duplicate and the
 * record is stored once. {@code selfReference}: the record is its own drift reference (a default
 * config measured as the reference of its round), so its reference cost is its own mean cost.
 */
public record RecordTemplate(TuningRecord base, boolean selfReference) {
    /** Placeholders of a template: never stored, replaced by {@link #complete}. */
    static final String PENDING = "not measured yet";

    /** The record of {@code m}: costs where it is OK, else its error; its time and device. */
    public TuningRecord complete(CandidateRunner.Measurement m) {
        MeasureResult r = m.result();
        ErrorCode code = TuneLoop.errorCode(r.getStatus());
        boolean ok = code == ErrorCode.NONE;
        TuningRecord b = base;
        TuningRecord rec = new TuningRecord(b.target(), b.workloadKey(), b.workloadDesc(), b.config(), b.trace(),
                ok ? r.getCostsList() : List.of(), code, ok ? null : r.getError(), b.flops(), m.measuredAt(), b.kilnVersion(),
                m.deviceKey(), b.tuner(), b.trial(), b.runId(), b.conditions(), ok ? b.referenceCost() : 0, b.provenance());
        return ok && selfReference ? rec.withReferenceCost(rec.meanCost()) : rec;
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        o.add("record", JsonParser.parseString(RecordJson.toJson(base)));
        o.addProperty("selfReference", selfReference);
        return o.toString();
    }

    public static RecordTemplate fromJson(String json) {
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        return new RecordTemplate(RecordJson.fromJson(o.get("record").toString()), o.get("selfReference").getAsBoolean());
    }

    /** A template's base: the record's fields, with placeholders for what the measurement gives. */
    static TuningRecord base(String target, String workloadKey, String workloadDesc, String config, String trace, double flops,
                             String kilnVersion, String tuner, long trial, String runId, String conditions, double referenceCost,
                             dev.kiln.autotune.db.Provenance provenance) {
        return new TuningRecord(target, workloadKey, workloadDesc, config, trace, List.of(), ErrorCode.UNKNOWN, PENDING, flops,
                Instant.EPOCH, kilnVersion, "", tuner, trial, runId, conditions, referenceCost, provenance);
    }
}
