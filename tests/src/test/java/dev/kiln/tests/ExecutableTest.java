package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.codegen.Packaging;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.Main;
import dev.kiln.frontend.Npy;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The standalone program of {@code kiln compile --emit exe}, on this machine: it computes what
 * {@code kiln run} computes on the library, bit for bit, on given and on random inputs (so its
 * random inputs are drawn exactly as Kiln's); it times runs; a static one has no dynamic section;
 * and bad input is one line naming the input and what was expected, exit 2, nothing written.
 */
class ExecutableTest {
    private static final long TIMEOUT_S = 120;

    @TempDir
    static Path shared;

    /** Per model: the library {@code kiln run} uses, and the program, both for this machine. */
    private static final Map<String, Path> LIBRARY = new HashMap<>(), PROGRAM = new HashMap<>();
    private static Path staticMlp;

    @BeforeAll
    static void compile() throws IOException {
        assumeTrue(Exec.onPath("cc"), "no C compiler 'cc' to link the program's main (install gcc)");
        Path mixed = shared.resolve("mixed.onnx");
        OnnxWriter.write(intAndFloatInputs(), mixed);
        for (String model : List.of("mlp", "mixed")) {
            String source = model.equals("mlp") ? "zoo:mlp" : mixed.toString();
            LIBRARY.put(model, model.equals("mlp") ? CompiledZoo.get("mlp").library()
                    : Compiler.compile(source, shared.resolve(model + ".so"), options(Packaging.LIBRARY)).library());
            PROGRAM.put(model, Compiler.compile(source, shared.resolve(model), options(Packaging.EXECUTABLE)).library());
        }
        staticMlp = Compiler.compile("zoo:mlp", shared.resolve("mlp-static"), options(Packaging.STATIC_EXECUTABLE)).library();
    }

    /** y = float(ids) * x: an int64 input beside a float one, and an output name the program must sanitize. */
    private static Graph intAndFloatInputs() {
        Graph g = new Graph("mixed");
        g.opsets().put("", 13);
        g.inputs().add(new Value("ids", DType.INT64, new Shape(2, 5)));
        g.inputs().add(new Value("x", DType.FLOAT32, new Shape(2, 5)));
        g.nodes().add(new Node("cast0", "Cast", "", List.of("ids"), List.of("idsf"), Map.of("to", new Attr.Int(DType.FLOAT32.onnxCode)), 13));
        g.nodes().add(new Node("mul0", "Mul", "", List.of("idsf", "x"), List.of("scaled:0"), Map.of(), 13));
        g.outputs().add("scaled:0");
        return g;
    }

    private static Compiler.Options options(Packaging packaging) {
        return new Compiler.Options(Target.host(), Map.of(), null, false, ConfigSource.DEFAULTS, packaging, null);
    }

    // ---- correctness ----

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mlp", "mixed"})
    void givenInputsGiveWhatKilnRunGives(String model, @TempDir Path dir) throws Exception {
        Map<String, Tensor> inputs;
        try (KilnLibrary lib = new KilnLibrary(LIBRARY.get(model), 1)) {
            inputs = lib.randomInputs(11);
        }
        List<String> programArgs = new ArrayList<>(), runArgs = new ArrayList<>(List.of("run", LIBRARY.get(model).toString()));
        for (var e : inputs.entrySet()) {
            Path f = dir.resolve("in-" + e.getKey() + ".npy");
            Npy.write(f, e.getValue());
            programArgs.addAll(List.of("--input", e.getKey() + "=" + f));
            runArgs.addAll(List.of("--input", e.getKey() + "=" + f));
        }
        Path fromProgram = dir.resolve("program"), fromRun = dir.resolve("run");
        Files.createDirectories(fromRun);
        programArgs.addAll(List.of("--output-dir", fromProgram.toString(), "--threads", "1"));
        runArgs.addAll(List.of("--output-dir", fromRun.toString(), "--threads", "1"));

        Exec.Result r = program(model, programArgs);
        assertEquals(0, r.code(), "the program failed: " + r.both());
        assertEquals(0, kilnRun(runArgs), "kiln run failed");
        assertSameOutputs(fromRun, fromProgram, model);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mlp", "mixed"})
    void randomInputsAreDrawnAsKilnDrawsThem(String model, @TempDir Path dir) throws Exception {
        Exec.Result r = program(model, List.of("--seed", "3", "--threads", "1", "--output-dir", dir.toString()));
        assertEquals(0, r.code(), "the program failed: " + r.both());
        try (KilnLibrary lib = new KilnLibrary(LIBRARY.get(model), 1)) {
            Map<String, Tensor> expected = lib.run(lib.randomInputs(3));
            for (var e : expected.entrySet()) {
                Tensor actual = Npy.read(dir.resolve(Npy.fileName(e.getKey())));
                assertEquals(e.getValue().dtype(), actual.dtype(), model + " output " + e.getKey() + " dtype");
                assertEquals(e.getValue().shape(), actual.shape(), model + " output " + e.getKey() + " shape");
                assertArrayEquals(e.getValue().toBytes(), actual.toBytes(), model + " output " + e.getKey()
                        + ": the program's random inputs for seed 3 differ from KilnLibrary.randomInputs(3)");
            }
        }
    }

    private static void assertSameOutputs(Path expectedDir, Path actualDir, String model) throws IOException {
        Set<String> expectedFiles = names(expectedDir), actualFiles = names(actualDir);
        assertFalse(expectedFiles.isEmpty(), "kiln run wrote no outputs");
        assertEquals(expectedFiles, actualFiles, model + ": output files");
        for (String f : expectedFiles) {
            Tensor want = Npy.read(expectedDir.resolve(f)), got = Npy.read(actualDir.resolve(f));
            assertEquals(want.dtype(), got.dtype(), model + " " + f + " dtype");
            assertEquals(want.shape(), got.shape(), model + " " + f + " shape");
            assertArrayEquals(want.toBytes(), got.toBytes(), model + " " + f + ": the program and kiln run differ");
        }
    }

    private static Set<String> names(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return Set.of();
        try (Stream<Path> s = Files.list(dir)) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    // ---- packaging ----

    @Test
    void staticProgramHasNoDynamicSection() throws Exception {
        assumeTrue(Exec.onPath("readelf"), "readelf is not installed (binutils)");
        Exec.Result r = Exec.run(List.of("readelf", "-d", staticMlp.toString()), TIMEOUT_S);
        assertEquals(0, r.code(), r.both());
        assertTrue(r.out().contains("There is no dynamic section"), "a --static program should load no shared library:\n" + r.out());
        Exec.Result run = Exec.run(List.of(staticMlp.toString(), "--threads", "1"), TIMEOUT_S);
        assertEquals(0, run.code(), "the static program should run: " + run.both());
    }

    @Test
    void dynamicProgramNeedsOnlyLibcAndLibm() throws Exception {
        assumeTrue(Exec.onPath("readelf"), "readelf is not installed (binutils)");
        Exec.Result r = Exec.run(List.of("readelf", "-d", PROGRAM.get("mlp").toString()), TIMEOUT_S);
        assertEquals(0, r.code(), r.both());
        Set<String> needed = new TreeSet<>();
        Matcher m = Pattern.compile("\\(NEEDED\\)\\s+Shared library: \\[([^]]+)]").matcher(r.out());
        while (m.find()) needed.add(m.group(1));
        Set<String> allowed = Set.of("libc.so.6", "libm.so.6", "libpthread.so.0", "ld-linux-x86-64.so.2");
        assertTrue(allowed.containsAll(needed), "unexpected dynamic dependencies: " + needed);
        assertTrue(needed.contains("libc.so.6"), "libc should be a declared dependency: " + needed);
    }

    // ---- performance (reported, never asserted on time) ----

    @Test
    void benchPrintsMedianAndMinimum() throws Exception {
        Exec.Result r = program("mlp", List.of("--bench", "5", "--threads", "1"));
        assertEquals(0, r.code(), r.both());
        Matcher m = Pattern.compile("bench: 5 runs, median ([0-9.]+) ms, min ([0-9.]+) ms").matcher(r.out());
        assertTrue(m.find(), "no timing line in: " + r.out());
        double median = Double.parseDouble(m.group(1)), min = Double.parseDouble(m.group(2));
        System.out.printf("mlp program on this machine: median %.3f ms, min %.3f ms (5 runs)%n", median, min);
        assertTrue(min > 0 && min <= median, "expected 0 < min <= median: " + m.group());
    }

    // ---- errors ----

    /** Each bad input: exit 2, one line on stderr that names the input (or flag) and what was expected, no output directory. */
    @Nested
    class BadInput {
        @TempDir
        Path dir;

        private void assertRefused(List<String> args, String... mustMention) throws Exception {
            Path out = dir.resolve("out");
            List<String> all = new ArrayList<>(args);
            all.addAll(List.of("--output-dir", out.toString()));
            Exec.Result r = program("mlp", all);
            String err = r.err();
            assertEquals(2, r.code(), "exit code; stderr: " + err);
            assertTrue(err.startsWith("mlp: error: "), "a message for people: " + err);
            assertEquals(1, err.strip().lines().count(), "one line on stderr: " + err);
            for (String s : mustMention) assertTrue(err.contains(s), "the message should mention '" + s + "': " + err);
            assertFalse(Files.exists(out), "nothing may be written for bad input, yet " + out + " exists");
        }

        private Path npy(String name, Tensor t) {
            Path f = dir.resolve(name);
            Npy.write(f, t);
            return f;
        }

        @Test
        void wrongDtype() throws Exception {
            Path f = npy("f64.npy", Tensor.zeros(DType.FLOAT64, new Shape(1, 784)));
            assertRefused(List.of("--input", "input=" + f), "input 'input'", "<f8", "expected <f4");
        }

        @Test
        void wrongShape() throws Exception {
            Path f = npy("flat.npy", Tensor.zeros(DType.FLOAT32, new Shape(784)));
            assertRefused(List.of("--input", "input=" + f), "input 'input'", "(784,)", "expected (1, 784)");
        }

        @Test
        void missingFile() throws Exception {
            assertRefused(List.of("--input", "input=" + dir.resolve("nowhere.npy")), "input 'input'", "nowhere.npy", "<f4 (1, 784)");
        }

        @Test
        void garbageIsNotNpy() throws Exception {
            Path f = dir.resolve("garbage.npy");
            byte[] junk = new byte[4096];
            new java.util.Random(7).nextBytes(junk);
            Files.write(f, junk);
            assertRefused(List.of("--input", "input=" + f), "input 'input'", "garbage.npy", "not a .npy file", "<f4 (1, 784)");
        }

        @Test
        void truncatedNpy() throws Exception {
            Path full = npy("full.npy", Tensor.zeros(DType.FLOAT32, new Shape(1, 784)));
            Path f = dir.resolve("cut.npy");
            byte[] bytes = Files.readAllBytes(full);
            Files.write(f, Arrays.copyOf(bytes, bytes.length - 100));
            assertRefused(List.of("--input", "input=" + f), "input 'input'", "cut.npy", "truncated", "<f4 (1, 784)");
        }

        @Test
        void unknownInputName() throws Exception {
            Path f = npy("ok.npy", Tensor.zeros(DType.FLOAT32, new Shape(1, 784)));
            assertRefused(List.of("--input", "pixels=" + f), "input 'pixels'", "no input of that name", "its inputs are: input");
        }

        @Test
        void badThreadCount() throws Exception {
            assertRefused(List.of("--threads", "many"), "--threads 'many'", "expected a whole number");
            assertRefused(List.of("--threads", "-1"), "--threads '-1'", "expected a whole number >= 0");
        }
    }

    // ---- helpers ----

    private static Exec.Result program(String model, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(PROGRAM.get(model).toString()));
        cmd.addAll(args);
        return Exec.run(cmd, TIMEOUT_S);
    }

    private static int kilnRun(List<String> args) {
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), args.toArray(String[]::new));
        if (code != 0) System.err.println(err);
        return code;
    }
}
