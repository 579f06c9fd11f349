package dev.kiln.autotune.pack;

import dev.kiln.autotune.db.TuningRecord;
import java.util.List;
import java.util.Objects;

/**
 * One workload of a pack: its canonical form (from which the importer rebuilds the kernel and its
 * config space) and its records: first the one a compile schedules it with, then, where that is
 * not the default config, the default config's record that sets the workload's level.
 */
public record PackEntry(String target, String workloadKey, String canonical, List<TuningRecord> records) {
    public PackEntry {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(workloadKey, "workloadKey");
        Objects.requireNonNull(canonical, "canonical");
        records = List.copyOf(records);
    }

    /** The record whose config a compile uses. */
    public TuningRecord chosen() {
        return records.getFirst();
    }
}
