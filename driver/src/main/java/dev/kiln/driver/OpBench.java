package dev.kiln.driver;

import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * {@code kiln bench --op}: one operator as a one-node model, compiled by Kiln and run by ONNX
 * Runtime, timed alternating ({@link Bench}); reports medians, GFLOP/s and the share of the FMA peak.
 *
 * <p>Shapes: {@code matmul} and {@code gemm} {@code MxNxK} (A is [M, K] an input, B a constant
 * weight, [K, N] for matmul, [N, K] with transB=1 and a bias for gemm, as PyTorch exports Linear);
 * {@code matmul_integer} {@code MxNxK} (MatMulInteger: A uint8 [M, K] an input, B an int8 [K, N] constant);
 * {@code batch_matmul} {@code BxMxNxK} (both operands inputs); {@code conv2d}
 * {@code N,C,H,W,CO,KH,KW,stride,pad} (weight constant, no bias).
 */
final class OpBench {
    private OpBench() {}

    /** One operator's model and its arithmetic (multiply and add counted separately). */
    record Op(Graph graph, double flops, String describe) {}

    static Op build(String op, String shape) {
        long[] d = dims(shape, op.equals("conv2d") ? "," : "x");
        SplittableRandom rnd = new SplittableRandom(7);
        Graph g = new Graph("op_" + op);
        g.opsets().put("", 17);
        switch (op) {
            case "matmul", "gemm" -> {
                need(op, shape, d, 3, "MxNxK");
                long m = d[0], n = d[1], k = d[2];
                boolean gemm = op.equals("gemm");
                g.inputs().add(new Value("A", DType.FLOAT32, Shape.of(m, k)));
                g.initializers().put("B", random(rnd, gemm ? Shape.of(n, k) : Shape.of(k, n)));
                if (gemm) g.initializers().put("bias", random(rnd, Shape.of(n)));
                g.nodes().add(gemm
                        ? new Node("gemm", "Gemm", "", List.of("A", "B", "bias"), List.of("Y"), Map.of("transB", new Attr.Int(1)), 17)
                        : new Node("matmul", "MatMul", "", List.of("A", "B"), List.of("Y"), Map.of(), 17));
                g.outputs().add("Y");
                return new Op(g, 2.0 * m * n * k, op + " M=" + m + " N=" + n + " K=" + k + (gemm ? " (transB, bias)" : "") + ", B constant");
            }
            case "matmul_integer" -> {
                // As a dynamically quantized Linear layer: uint8 activations, an int8 weight, int32 out.
                need(op, shape, d, 3, "MxNxK");
                long m = d[0], n = d[1], k = d[2];
                g.inputs().add(new Value("A", DType.UINT8, Shape.of(m, k)));
                g.initializers().put("B", Tensor.generate(DType.INT8, Shape.of(k, n), i -> rnd.nextInt(-128, 128)));
                g.initializers().put("a_zero_point", Tensor.generate(DType.UINT8, Shape.of(), i -> 121));
                g.initializers().put("b_zero_point", Tensor.generate(DType.INT8, Shape.of(), i -> 3));
                g.nodes().add(new Node("matmul_integer", "MatMulInteger", "", List.of("A", "B", "a_zero_point", "b_zero_point"), List.of("Y"),
                        Map.of(), 17));
                g.outputs().add("Y");
                return new Op(g, 2.0 * m * n * k, "matmul_integer M=" + m + " N=" + n + " K=" + k + ", uint8 A, int8 B constant, int32 out "
                        + "(GFLOP/s: integer multiply-adds x 2; the % is of the fp32 FMA peak)");
            }
            case "batch_matmul" -> {
                need(op, shape, d, 4, "BxMxNxK");
                long b = d[0], m = d[1], n = d[2], k = d[3];
                g.inputs().add(new Value("A", DType.FLOAT32, Shape.of(b, m, k)));
                g.inputs().add(new Value("B", DType.FLOAT32, Shape.of(b, k, n)));
                g.nodes().add(new Node("matmul", "MatMul", "", List.of("A", "B"), List.of("Y"), Map.of(), 17));
                g.outputs().add("Y");
                return new Op(g, 2.0 * b * m * n * k, "batch_matmul B=" + b + " M=" + m + " N=" + n + " K=" + k + ", both inputs");
            }
            case "conv2d" -> {
                need(op, shape, d, 9, "N,C,H,W,CO,KH,KW,stride,pad");
                long n = d[0], c = d[1], h = d[2], w = d[3], co = d[4], kh = d[5], kw = d[6], st = d[7], pad = d[8];
                long oh = (h + 2 * pad - kh) / st + 1, ow = (w + 2 * pad - kw) / st + 1;
                if (oh < 1 || ow < 1) throw new KilnException("--shape " + shape + ": the kernel is larger than the padded input");
                g.inputs().add(new Value("X", DType.FLOAT32, Shape.of(n, c, h, w)));
                g.initializers().put("W", random(rnd, Shape.of(co, c, kh, kw)));
                g.nodes().add(new Node("conv", "Conv", "", List.of("X", "W"), List.of("Y"), Map.of(
                        "strides", new Attr.Ints(new long[] {st, st}), "pads", new Attr.Ints(new long[] {pad, pad, pad, pad}),
                        "kernel_shape", new Attr.Ints(new long[] {kh, kw})), 17));
                g.outputs().add("Y");
                return new Op(g, 2.0 * n * co * oh * ow * c * kh * kw, "conv2d " + shape + " (output " + n + "x" + co + "x" + oh + "x" + ow + ")");
            }
            case "relu" -> {
                // Almost no work: with more than one thread its time is the parallel runtime's fork/join cost.
                need(op, shape, d, 2, "RxC");
                g.inputs().add(new Value("X", DType.FLOAT32, Shape.of(d[0], d[1])));
                g.nodes().add(new Node("relu", "Relu", "", List.of("X"), List.of("Y"), Map.of(), 17));
                g.outputs().add("Y");
                return new Op(g, (double) d[0] * d[1], "relu " + d[0] + "x" + d[1]);
            }
            default -> throw new KilnException("--op '" + op + "': expected matmul, gemm, matmul_integer, batch_matmul, conv2d or relu");
        }
    }

    /**
     * Compiles, times and prints; returns the exit code (1 when the outputs differ). A target
     * other than this machine's CPU (an OpenCL device here) is timed next to Kiln's kernel for
     * the host CPU and ONNX Runtime, all three alternating in this process.
     */
    static int run(String op, String shape, Target target, int threads, int warmup, int runs, Double givenPeak, Path dumpDir, long pause) {
        Op o = build(op, shape);
        boolean measured = givenPeak == null;
        double peakPerThread = measured ? Peaks.fmaGflops(dev.kiln.targets.CpuTarget.host()) : givenPeak;
        Path dir;
        try {
            dir = Files.createTempDirectory("kiln-op");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        boolean host = target instanceof dev.kiln.targets.CpuTarget;
        try {
            Path model = dir.resolve("op.onnx");
            OnnxWriter.write(o.graph(), model);
            Compiler.compile(model.toString(), dir.resolve("op.so"), new Compiler.Options(target, Map.of(), dumpDir, false));
            if (!host) Compiler.compile(model.toString(), dir.resolve("op-host.so"), new Compiler.Options(Target.host(), Map.of(), null, false));
            byte[] onnx = Files.readAllBytes(model);
            try (KilnLibrary kiln = new KilnLibrary(dir.resolve("op.so"), threads);
                 KilnLibrary cpu = host ? null : new KilnLibrary(dir.resolve("op-host.so"), threads);
                 OrtModel ort = new OrtModel(onnx, threads)) {
                var inputs = kiln.randomInputs(0);
                kiln.prepare(inputs);
                ort.prepare(inputs);
                List<Runnable> runners = new java.util.ArrayList<>(List.of(kiln::runPrepared, ort::runPrepared));
                if (cpu != null) {
                    cpu.prepare(inputs);
                    runners.add(cpu::runPrepared);
                }
                double[][] t = Bench.alternate(runners, warmup, runs, pause);
                var agree = Bench.compare(kiln, ort);
                double peak = peakPerThread * threads;
                System.out.printf("%s, %d thread(s), %d runs alternating after %d or more warm-up runs (0.3 s at least)%n", o.describe(), threads, runs, warmup);
                String label = host ? "kiln" : "kiln " + target.name();
                int width = Math.max(label.length(), ("kiln " + Target.host().name()).length());
                line(label, width, Bench.median(t[0]), o.flops(), peak, host);
                if (cpu != null) line("kiln " + Target.host().name(), width, Bench.median(t[2]), o.flops(), peak, true);
                line("onnxruntime", width, Bench.median(t[1]), o.flops(), peak, true);
                System.out.printf("  ratio %s/onnxruntime (medians): %.3f%n", label, Bench.median(t[0]) / Bench.median(t[1]));
                System.out.printf("  peak: %.0f GFLOP/s = %.0f per thread x %d, %s%n", peak, peakPerThread, threads,
                        measured ? "measured by an FMA probe on this CPU (" + dev.kiln.codegen.PeakProbe.cpuModel() + "), cached" : "given (--peak-gflops)");
                if (!host) System.out.printf("  %s runs on its own device threads (--threads sets the CPU libraries' threads only)%n", target.name());
                System.out.printf("  outputs %s (max |%s - onnxruntime| = %.3g)%n", agree.ok() ? "match" : "DIFFER", label, agree.maxAbsError());
                return agree.ok() ? 0 : 1;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteTree(dir);
        }
    }

    private static void line(String label, int width, double ms, double flops, double peak, boolean cpu) {
        double g = flops / (ms * 1e6);
        System.out.printf("  %-" + width + "s  median %9.3f ms  %8.1f GFLOP/s%s%n", label, ms, g, cpu ? String.format("  %5.1f%% of CPU peak", 100 * g / peak) : "");
    }

    private static long[] dims(String shape, String sep) {
        String[] parts = shape.split(sep.equals("x") ? "[xX]" : ",");
        long[] d = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                d[i] = Long.parseLong(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new KilnException("--shape '" + shape + "': '" + parts[i] + "' is not a number");
            }
            if (d[i] < 0) throw new KilnException("--shape '" + shape + "': sizes cannot be negative");
        }
        return d;
    }

    private static void need(String op, String shape, long[] d, int n, String form) {
        if (d.length != n) throw new KilnException("--shape '" + shape + "' for --op " + op + ": expected " + form);
        for (int i = 0; i < n; i++)
            if (d[i] <= 0 && !(op.equals("conv2d") && i == 8)) throw new KilnException("--shape '" + shape + "': expected positive sizes (" + form + ")");
    }

    private static Tensor random(SplittableRandom rnd, Shape s) {
        return Tensor.generate(DType.FLOAT32, s, i -> rnd.nextDouble(-1, 1));
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temporary directory is harmless
        }
    }
}
