package dev.kiln.driver.tune;

import static dev.kiln.driver.tune.TuneEndToEndTest.kiln;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.targets.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln cache}: a real tune's pack moves to a fresh database and the compile there is the same library. */
class CacheCommandTest {
    @Test
    void aPackOfARealTuneCompilesToTheSameLibraryElsewhere(@TempDir Path dir) throws Exception {
        String target = Target.host().name();
        String a = "jdbc:sqlite:" + dir.resolve("a.db"), b = "jdbc:sqlite:" + dir.resolve("b.db");
        var tune = kiln("tune", "zoo:mlp", "--target", target, "--trials", "12", "--tuner", "random", "--db", a, "--min-repeat-ms", "1",
                "--no-end-to-end", "--plot", dir.resolve("c.png").toString());
        assertEquals(0, tune.code(), tune.err());
        try (TuningDatabase d = TuningDatabase.open(a)) {
            for (TuningRecord r : d.all()) {
                assertEquals(LlvmModule.llvmVersion(), r.provenance().llvmVersion());
                assertEquals(12, r.provenance().trials());
                assertFalse(r.provenance().device().isEmpty());
                assertTrue(d.workload(target, r.workloadKey()).isPresent(), "no form kept for " + r.workloadKey());
            }
        }
        Path pack = dir.resolve("mlp.kpack");
        var export = kiln("cache", "export", "-o", pack.toString(), "--db", a);
        assertEquals(0, export.code(), export.err());
        assertTrue(export.out().contains("exported 3 workloads"), export.out());
        var first = kiln("cache", "import", pack.toString(), "--db", b);
        assertEquals(0, first.code(), first.err());
        var again = kiln("cache", "import", pack.toString(), "--db", b);
        assertTrue(again.out().contains("imported 0 of"), again.out());

        Path libA = Files.createDirectories(dir.resolve("A")).resolve("m.so"), libB = Files.createDirectories(dir.resolve("B")).resolve("m.so");
        var compileA = kiln("compile", "zoo:mlp", "--target", target, "-o", libA.toString(), "--db", a);
        var compileB = TuneEndToEndTest.kilnPrinting("compile", "zoo:mlp", "--target", target, "-o", libB.toString(), "--db", b);
        assertEquals(0, compileA.code(), compileA.err());
        assertEquals(0, compileB.code(), compileB.err());
        assertEquals(-1, Files.mismatch(libA, libB), "the libraries differ:\n" + compileA.out() + "\n" + compileB.out());
        // The summary names where the configs came from: this machine's CPU, this Kiln's LLVM.
        assertTrue(compileB.out().contains("measured on") && compileB.out().contains("LLVM " + LlvmModule.llvmVersion()), compileB.out());

        var runs = kiln("db", "runs", "--db", a);
        assertTrue(runs.out().contains("LLVM " + LlvmModule.llvmVersion()) && runs.out().contains("12 trials"), runs.out());

        var verify = kiln("cache", "verify", "--sample", "1", "--db", a, "--target", target);
        assertEquals(0, verify.code(), verify.err());
        assertTrue(verify.out().matches("(?s).*measured/recorded over 1 workloads: median [0-9.]+.*"), verify.out());

        var serve = kiln("cache", "serve", "--help");
        assertTrue(serve.code() == 0 && serve.out().contains("read-only"), "kiln cache serve is a subcommand: " + serve.out() + serve.err());

        var bad = kiln("cache", "import", dir.resolve("a.db").toString(), "--db", b);
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("Nothing was imported"), bad.err());
    }
}
