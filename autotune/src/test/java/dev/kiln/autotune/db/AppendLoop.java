package dev.kiln.autotune.db;

import java.time.Instant;
import java.util.List;

/**
 * A child process for the kill and concurrency tests: appends records to a database one by one
 * and prints "committed N" after each append returns.
 * Arguments: jdbc url, run id, number of records (0 = until killed).
 */
public final class AppendLoop {
    public static void main(String[] args) {
        String url = args[0];
        String runId = args[1];
        long limit = Long.parseLong(args[2]);
        try (TuningDatabase db = TuningDatabase.open(url)) {
            for (long i = 0; limit == 0 || i < limit; i++) {
                db.append(new TuningRecord("x86_64-avx2", "matmul-" + runId, "matmul from " + runId,
                        "tile=" + i, "split i " + i, List.of(1e-3 + i * 1e-6), ErrorCode.NONE, null, 1e6,
                        Instant.now(), "0.1.0", "child", "loop", i, runId));
                System.out.println("committed " + (i + 1));
                System.out.flush();
            }
        }
    }
}
