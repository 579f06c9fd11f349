package dev.kiln.autotune.db;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** How a {@link TuningRecord} maps to a row of {@code tuning_records} and back; the same in every dialect. */
final class RecordRows {
    /** The columns {@link #read} expects, in order. */
    static final String COLUMNS = "target, workload_key, workload_desc, config, trace, costs, "
            + "error_code, error_message, flops, measured_at, kiln_version, device_key, tuner, trial, run_id, conditions, reference_cost, "
            + "llvm_version, device_model, device_features, run_trials";

    /** Inserts a row unless one with the same record key (every field equal) exists. */
    static final String INSERT = "INSERT INTO tuning_records (record_key, mean_cost, " + COLUMNS + ") "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (record_key) DO NOTHING";

    // Fixed-width UTC text sorts in time order in any SQL database and keeps nanoseconds.
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);

    private RecordRows() {
    }

    static void bind(PreparedStatement ps, TuningRecord r) throws SQLException {
        int i = 1;
        ps.setString(i++, RecordJson.key(r));
        // Stored beside the costs so that best() can sort in SQL; NULL for an error record.
        if (r.ok()) ps.setDouble(i++, r.meanCost());
        else ps.setNull(i++, Types.DOUBLE);
        ps.setString(i++, r.target());
        ps.setString(i++, r.workloadKey());
        ps.setString(i++, r.workloadDesc());
        ps.setString(i++, r.config());
        ps.setString(i++, r.trace());
        ps.setString(i++, RecordJson.costsText(r.costsSeconds()));
        ps.setString(i++, r.errorCode().name());
        ps.setString(i++, r.errorMessage());
        ps.setDouble(i++, r.flops());
        ps.setString(i++, TIME.format(r.timestamp()));
        ps.setString(i++, r.kilnVersion());
        ps.setString(i++, r.deviceKey());
        ps.setString(i++, r.tuner());
        ps.setLong(i++, r.trial());
        ps.setString(i++, r.runId());
        ps.setString(i++, r.conditions());
        ps.setDouble(i++, r.referenceCost());
        ps.setString(i++, r.provenance().llvmVersion());
        ps.setString(i++, r.provenance().device());
        ps.setString(i++, r.provenance().features());
        ps.setLong(i, r.provenance().trials());
    }

    /** Reads the current row of a result whose first columns are {@link #COLUMNS}. */
    static TuningRecord read(ResultSet rs) throws SQLException {
        String code = rs.getString(7);
        ErrorCode errorCode;
        try {
            errorCode = ErrorCode.valueOf(code);
        } catch (IllegalArgumentException e) {
            throw new SQLException("a record has error code '" + code + "', unknown to this Kiln", e);
        }
        return new TuningRecord(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getString(5), RecordJson.costs(rs.getString(6)), errorCode, rs.getString(8), rs.getDouble(9),
                instant(rs.getString(10)), rs.getString(11), rs.getString(12), rs.getString(13),
                rs.getLong(14), rs.getString(15), rs.getString(16), rs.getDouble(17),
                new Provenance(rs.getString(18), rs.getString(19), rs.getString(20), rs.getLong(21)));
    }

    static Instant instant(String text) {
        return Instant.from(TIME.parse(text));
    }
}
