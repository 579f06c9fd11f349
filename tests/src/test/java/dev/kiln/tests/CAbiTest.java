package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.driver.Compare;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.targets.cpu.NativeModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The library outside Java: a C program compiled with gcc against the generated header runs a
 * compiled model through the C ABI alone (and two handles on two threads at once), and its
 * outputs match ONNX Runtime; the library needs nothing but libc and libm.
 */
class CAbiTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mlp", "mobilenetv2"})
    void cProgramRunsTheModel(String model) throws Exception {
        assumeTrue(onPath("gcc"), "gcc is not installed (scripts/test installs it)");
        var compiled = CompiledZoo.get(model);
        Path exe = buildHarness(compiled.library(), compiled.header());

        List<NativeModel.TensorInfo> ins, outs;
        Map<String, Tensor> inputs;
        try (KilnLibrary lib = new KilnLibrary(compiled.library(), 1)) {
            ins = lib.inputInfo();
            outs = lib.outputInfo();
            inputs = lib.randomInputs(42);
        }
        List<String> cmd = new ArrayList<>(List.of(exe.toString(), "2", "" + ins.size(), "" + outs.size()));
        for (var in : ins) {
            Path p = dir.resolve("in_" + in.name().replaceAll("\\W", "_") + ".bin");
            Files.write(p, inputs.get(in.name()).toBytes());
            cmd.add(p.toString());
        }
        for (int i = 0; i < outs.size(); i++) cmd.add(dir.resolve("out" + i + ".bin").toString());
        for (var o : outs) cmd.add("" + o.bytes());
        Result r = exec(cmd);
        assertEquals(0, r.code, "harness failed: " + r.output);
        assertTrue(r.output.contains("\"inputs\""), "metadata printed: " + r.output);

        try (OrtModel ort = new OrtModel(Zoo.onnxBytes(model), 1)) {
            Map<String, Tensor> expected = ort.run(inputs);
            for (int i = 0; i < outs.size(); i++) {
                var info = outs.get(i);
                Tensor actual = Tensor.fromBytes(DType.fromNumpy(info.dtype()), Shape.of(info.shape()), Files.readAllBytes(dir.resolve("out" + i + ".bin")));
                Compare c = Compare.of(actual, expected.get(info.name()), 1e-4, 1e-3);
                assertTrue(c.ok(), model + " via the C ABI, output " + info.name() + ": " + c.detail());
            }
        }
    }

    @Test
    void libraryNeedsOnlyLibcAndLibm() throws Exception {
        assumeTrue(onPath("readelf"), "readelf is not installed (binutils; scripts/test installs it)");
        var compiled = CompiledZoo.get("mlp");
        Result r = exec(List.of("readelf", "-d", compiled.library().toString()));
        assertEquals(0, r.code, r.output);
        Set<String> needed = new TreeSet<>();
        for (String line : r.output.split("\n")) {
            int a = line.indexOf("Shared library: ["), b = line.lastIndexOf(']');
            if (a >= 0) needed.add(line.substring(a + "Shared library: [".length(), b));
        }
        Set<String> allowed = Set.of("libc.so.6", "libm.so.6", "libpthread.so.0", "ld-linux-x86-64.so.2");
        assertTrue(allowed.containsAll(needed), "unexpected dynamic dependencies: " + needed);
        assertTrue(needed.contains("libc.so.6"), "libc should be a declared dependency: " + needed);
    }

    private Path buildHarness(Path lib, Path header) throws Exception {
        Path src = dir.resolve("abi_harness.c");
        try (InputStream in = getClass().getResourceAsStream("/abi_harness.c")) {
            Files.write(src, in.readAllBytes());
        }
        Path exe = dir.resolve("abi_harness");
        Result r = exec(List.of("gcc", "-O1", "-Wall", "-Werror", "-include", header.toString(), src.toString(), "-o", exe.toString(),
                lib.toString(), "-Wl,-rpath," + lib.getParent(), "-lpthread"));
        assertEquals(0, r.code, "gcc failed: " + r.output);
        return exe;
    }

    record Result(int code, String output) {}

    private static Result exec(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            return new Result(-1, "timed out");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) if (Files.isExecutable(Path.of(d, tool))) return true;
        return false;
    }
}
