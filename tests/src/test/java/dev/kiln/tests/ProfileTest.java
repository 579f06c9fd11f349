package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.driver.Compare;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.driver.Profiler;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Tensor;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln bench --profile}: the library's profiled run times every kernel call it makes, in
 * call order, and says what each computes; the Chrome trace nests each run's kernels inside it.
 * (Structure only: how fast anything runs is for benchmarks, not tests.)
 */
class ProfileTest {
    @TempDir
    Path dir;

    @Test
    void everyKernelOfResnet18IsTimedAndDescribed() throws Exception {
        var compiled = CompiledZoo.get("resnet18");
        try (KilnLibrary lib = new KilnLibrary(compiled.library(), 1)) {
            lib.prepare(lib.randomInputs(3));
            Profiler.Result r = Profiler.measure(lib, compiled.library(), 1, 1, 4);
            List<Profiler.Call> calls = r.calls();
            assertEquals(compiled.kernels(), calls.size(), "one profile entry per kernel call");
            Set<String> names = new HashSet<>();
            for (Profiler.Call c : calls) assertTrue(names.add(c.kernel()), "kernel names are unique: " + c.kernel());
            for (long[] t : r.ns()) {
                assertEquals(2 * calls.size(), t.length);
                for (int i = 0; i + 1 < t.length; i++) assertTrue(t[i] <= t[i + 1], "times run forward: " + i);
            }
            // What the profile says of the kernels, from the model's structure.
            Profiler.Call first = calls.getFirst();
            assertEquals(List.of("ToBlocked"), first.ops());
            assertEquals("plain->NCHW3c", first.layout());
            Profiler.Call stem = calls.get(1);
            assertEquals("ConvNCHWc", stem.ops().getFirst());
            assertTrue(stem.template().startsWith("conv_nchwc"), stem.template());
            // 7x7 conv, 3 -> 64 channels, 112x112 outputs; then the fused Relu, one per output.
            assertEquals(List.of("ConvNCHWc", "Relu"), stem.ops());
            assertEquals(2.0 * 112 * 112 * 64 * 3 * 7 * 7 + 64 * 112 * 112, stem.flops(), 1e-6);
            assertEquals("NCHW3c->NCHW16c", stem.layout());
            long blocked = calls.stream().filter(c -> c.layout().equals("NCHW16c")).count();
            assertTrue(blocked >= 20, "the residual blocks run blocked: " + blocked);
            Profiler.Call gemm = calls.stream().filter(c -> c.ops().equals(List.of("Gemm"))).findFirst().orElseThrow();
            assertEquals(2.0 * 512 * 1000, gemm.flops(), 1e-6);
            assertEquals("plain", gemm.layout());
            // The Gemm reads its 512 inputs, 512x1000 weights and 1000 biases and writes 1000 outputs (f32).
            assertTrue(gemm.bytes() >= 4L * (512 + 512 * 1000 + 1000 + 1000), "bytes " + gemm.bytes());

            ByteArrayOutputStream text = new ByteArrayOutputStream();
            Profiler.print(r, 200, 30, new PrintStream(text, true, StandardCharsets.UTF_8));
            String table = text.toString(StandardCharsets.UTF_8);
            for (Profiler.Call c : calls) assertTrue(table.contains(c.kernel()), "the table lists " + c.kernel());
            assertTrue(table.contains("sum of kernel medians"), table);

            Path trace = dir.resolve("trace.json");
            Profiler.writeTrace(r, trace);
            checkTrace(trace, calls.size(), r.runs());
        }
    }

    /** A Chrome trace as ONNX Runtime writes one: complete events, each run's kernels inside its model_run. */
    private static void checkTrace(Path trace, int kernels, int runs) throws Exception {
        JsonArray events = JsonParser.parseString(Files.readString(trace)).getAsJsonArray();
        assertEquals(runs * (kernels + 1), events.size());
        double runStart = -1, runEnd = -1, lastRunEnd = -1;
        for (JsonElement e : events) {
            JsonObject o = e.getAsJsonObject();
            assertEquals("X", o.get("ph").getAsString());
            double ts = o.get("ts").getAsDouble(), dur = o.get("dur").getAsDouble();
            assertTrue(dur >= 0, "durations are not negative");
            if (o.get("name").getAsString().equals("model_run")) {
                assertTrue(ts >= lastRunEnd, "runs do not overlap");
                runStart = ts;
                runEnd = ts + dur;
                lastRunEnd = runEnd;
            } else {
                assertTrue(o.get("name").getAsString().endsWith("_kernel_time"), o.toString());
                assertTrue(ts >= runStart - 1e-3 && ts + dur <= runEnd + 2e-3, "kernel inside its run: " + o);
                assertFalse(o.getAsJsonObject("args").get("op_name").getAsString().isEmpty());
            }
        }
    }

    /**
     * On an OpenCL device the profiled run waits for each kernel in turn, and gives the same
     * outputs as a plain run (checked against ONNX Runtime).
     */
    @Test
    void anOpenClLibraryIsProfiledKernelByKernel() {
        Target opencl;
        try {
            opencl = Target.parse("opencl");
        } catch (TargetException e) {
            // Without an OpenCL driver there is nothing to profile; scripts/test installs PoCL, so CI runs it.
            org.junit.jupiter.api.Assumptions.abort("no OpenCL device here (" + e.getMessage() + ")");
            return;
        }
        var lib = Compiler.compile("zoo:mlp", dir.resolve("mlp.so"), new Compiler.Options(opencl, Map.of(), null, false));
        try (KilnLibrary kiln = new KilnLibrary(lib.library(), 1); OrtModel ort = new OrtModel(Zoo.onnxBytes("mlp"), 1)) {
            Map<String, Tensor> inputs = kiln.randomInputs(5);
            kiln.prepare(inputs);
            Profiler.Result r = Profiler.measure(kiln, lib.library(), 1, 1, 3);
            assertTrue(r.onDevice());
            assertEquals(lib.kernels(), r.calls().size());
            for (long[] t : r.ns()) for (int i = 0; i + 1 < t.length; i++) assertTrue(t[i] <= t[i + 1]);
            Map<String, Tensor> expected = ort.run(inputs);
            for (var e : expected.entrySet()) {
                Compare c = Compare.of(kiln.outputs().get(e.getKey()), e.getValue(), 1e-4, 1e-3);
                assertTrue(c.ok(), "after a profiled run, output " + e.getKey() + ": " + c.detail());
            }
        }
    }
}
