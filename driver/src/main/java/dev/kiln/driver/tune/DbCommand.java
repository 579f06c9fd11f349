package dev.kiln.driver.tune;

import dev.kiln.autotune.db.RunSummary;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningDbException;
import dev.kiln.irhigh.KilnException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kiln db}: share tuning records. {@code export} writes every record as JSON lines (written
 * to a temporary file and renamed, so a reader never sees half an export); {@code import} adds a
 * file's records (records already present are skipped, so importing twice adds nothing);
 * {@code runs} lists the tuning runs a database holds. A team can also share one database by
 * pointing {@code --db} at PostgreSQL.
 */
@Command(name = "db", mixinStandardHelpOptions = true, description = "Export, import or list the records of a tuning database.",
        subcommands = {DbCommand.Export.class, DbCommand.Import.class, DbCommand.Runs.class})
public final class DbCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new KilnException("say what to do: kiln db export FILE.jsonl | kiln db import FILE.jsonl | kiln db runs (each takes --db URL)");
    }

    abstract static class WithDb {
        @Option(names = "--db", paramLabel = "URL", description = "tuning database: jdbc:sqlite:FILE, jdbc:postgresql://HOST/DB or a file path (default: ~/.kiln/tuning.db)")
        String db;

        @Spec
        CommandSpec spec;

        java.io.PrintWriter out() {
            return spec.commandLine().getOut();
        }

        TuningDatabase open(boolean mustExist) {
            if (mustExist && db == null && !Files.isRegularFile(Databases.defaultFile()))
                throw new KilnException("there is no tuning database at " + Databases.defaultFile() + ": tune first, or name one with --db");
            return Databases.open(db);
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true, description = "Write every record as one JSON object per line "
            + "(a full dump; to share tuned configs, kiln cache export writes a checked pack).")
    static final class Export extends WithDb implements Callable<Integer> {
        @Parameters(paramLabel = "FILE.jsonl")
        Path file;

        @Override
        public Integer call() {
            try (TuningDatabase d = open(true)) {
                long n = d.export(file);
                out().println("exported " + n + " records of " + d + " to " + file);
                return 0;
            } catch (TuningDbException e) {
                throw new KilnException(e.getMessage(), e);
            }
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true, description = "Add the records of a kiln db export; ones already present are skipped "
            + "(packs from kiln cache export go through kiln cache import, which checks every config).")
    static final class Import extends WithDb implements Callable<Integer> {
        @Parameters(paramLabel = "FILE.jsonl")
        Path file;

        @Override
        public Integer call() {
            if (!Files.isRegularFile(file)) throw new KilnException("no export file " + file);
            try (TuningDatabase d = open(false)) {
                TuningDatabase.ImportStats s = d.importFrom(file);
                out().println("imported " + s.added() + " of " + s.read() + " records from " + file + " into " + d
                        + (s.duplicates() > 0 ? " (" + s.duplicates() + " were already there)" : ""));
                return 0;
            } catch (TuningDbException e) {
                throw new KilnException(e.getMessage(), e);
            }
        }
    }

    /** Where a run measured: device key, and Kiln, LLVM and the trial budget where the run recorded them. */
    static String provenance(RunSummary r) {
        String s = r.deviceKey() + ", Kiln " + r.kilnVersion();
        if (!r.provenance().llvmVersion().isEmpty()) s += ", LLVM " + r.provenance().llvmVersion();
        if (!r.provenance().device().isEmpty() && !r.deviceKey().endsWith(r.provenance().device())) s += ", " + r.provenance().device();
        if (r.provenance().trials() > 0) s += ", " + r.provenance().trials() + " trials";
        return s;
    }

    @Command(name = "runs", mixinStandardHelpOptions = true, description = "List the tuning runs the database holds.")
    static final class Runs extends WithDb implements Callable<Integer> {
        @Override
        public Integer call() {
            try (TuningDatabase d = open(true)) {
                out().printf("%-36s  %-16s  %-9s  %9s  %7s  %6s  %-20s  %s%n", "run", "target", "tuner", "workloads", "records", "errors",
                        "started", "measured on");
                for (RunSummary r : d.runs())
                    out().printf("%-36s  %-16s  %-9s  %9d  %7d  %6d  %-20s  %s%n", r.runId(), r.target(), r.tuner(), r.workloads(),
                            r.records(), r.errors(), r.started().toString().substring(0, 19), provenance(r));
                return 0;
            } catch (TuningDbException e) {
                throw new KilnException(e.getMessage(), e);
            }
        }
    }
}
