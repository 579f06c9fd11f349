package dev.kiln.autotune.runner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Hand-written C "candidates" implementing Kiln's model ABI: y = a + b over float32[N], and
 * variants that compute the wrong thing, segfault, loop for ever or leave a marker file as soon as
 * they are loaded (proof that a runner ran them). Built with the system C
 * compiler, so tests can fail in ways real kernels do without depending on the code generator.
 */
public final class FakeCandidates {
    static final int N = 4096;

    private static final String SOURCE = """
            #include <stdlib.h>
            #define N %d
            #if defined(MARKER)
            #include <stdio.h>
            __attribute__((constructor)) static void mark(void) { FILE *f = fopen(MARKER, "w"); if (f) fclose(f); }
            #endif
            typedef struct KilnModel { int threads; } KilnModel;
            static const char *error = "";
            const char *kiln_model_metadata(void) {
                return "{\\"name\\":\\"add\\",\\"inputs\\":["
                       "{\\"name\\":\\"a\\",\\"dtype\\":\\"float32\\",\\"shape\\":[64,64]},"
                       "{\\"name\\":\\"b\\",\\"dtype\\":\\"float32\\",\\"shape\\":[64,64]}],"
                       "\\"outputs\\":[{\\"name\\":\\"y\\",\\"dtype\\":\\"float32\\",\\"shape\\":[64,64]}]}";
            }
            KilnModel *kiln_model_create(int threads) {
                if (threads < 0) { error = "negative thread count"; return NULL; }
                KilnModel *m = malloc(sizeof(KilnModel));
                m->threads = threads;
                return m;
            }
            int kiln_model_run(KilnModel *m, const void *const *in, void *const *out) {
                if (!m || !in || !out) { error = "null argument"; return 1; }
                const float *a = in[0], *b = in[1];
                float *y = out[0];
            #if defined(CRASH)
                *(volatile int *)0 = 42;
            #elif defined(HANG)
                for (volatile int spin = 1; spin; ) {}
            #elif defined(FAIL)
                error = "the kernel refused to run";
                return 3;
            #endif
                for (int i = 0; i < N; i++) y[i] = a[i] + b[i];
            #if defined(WRONG)
                y[N / 2] += 0.25f;
            #endif
                return 0;
            }
            void kiln_model_destroy(KilnModel *m) { free(m); }
            const char *kiln_model_last_error(void) { return error; }
            """.formatted(N);

    private FakeCandidates() {}

    /** Whether a C compiler is on the PATH. */
    public static boolean haveCompiler() {
        try {
            return new ProcessBuilder("cc", "--version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** The library bytes of the variant named by {@code define} ("" for the correct one). */
    public static byte[] build(Path dir, String define) throws IOException, InterruptedException {
        return build(dir, define, define.isEmpty() ? List.of() : List.of("-D" + define));
    }

    /** The correct candidate, which also creates {@code marker} when it is loaded. */
    static byte[] buildMarking(Path dir, Path marker) throws IOException, InterruptedException {
        return build(dir, "-marker", List.of("-DMARKER=\"" + marker + "\""));
    }

    private static byte[] build(Path dir, String name, List<String> defines) throws IOException, InterruptedException {
        Path c = dir.resolve("add.c");
        Files.writeString(c, SOURCE);
        Path so = dir.resolve("add" + name + ".so");
        var cmd = new java.util.ArrayList<>(List.of("cc", "-O2", "-shared", "-fPIC", "-o", so.toString(), c.toString()));
        cmd.addAll(defines);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("cc failed: " + log);
        return Files.readAllBytes(so);
    }
}
