package dev.kiln.tests.conformance;

import dev.kiln.targets.Target;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A child JVM that runs cases one after another and journals each: "START id" before, the
 * result line after. A kernel that crashes takes this process down, not the suite: the parent
 * reads the journal, records the crash against the case that started last and goes on.
 * Usage: ConformanceWorker ROOT CASES_FILE JOURNAL WORK_DIR [TARGET]
 */
public final class ConformanceWorker {
    private ConformanceWorker() {}

    public static void main(String[] args) throws IOException {
        Path root = Path.of(args[0]);
        Path journal = Path.of(args[2]);
        Target target = args.length > 4 ? Target.parse(args[4]) : Target.host();
        CaseRunner runner = new CaseRunner(Files.createDirectories(Path.of(args[3])), target);
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(journal, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND), true)) {
            for (String id : Files.readAllLines(Path.of(args[1]))) {
                if (id.isBlank()) continue;
                out.println("START\t" + id);
                CaseResult r;
                try {
                    r = runner.run(ConformanceCase.of(root, id));
                } catch (Throwable e) {
                    r = new CaseResult(id, CaseResult.Status.FAILED, "?", false, "runner error: " + Reasons.ofThrowable(e));
                }
                out.println("RESULT\t" + r.toLine());
            }
        }
        System.exit(0); // loaded libraries: leave without waiting on them
    }
}
