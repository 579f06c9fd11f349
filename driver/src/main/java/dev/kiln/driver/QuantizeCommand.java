package dev.kiln.driver;

import dev.kiln.frontend.AtomicFiles;
import dev.kiln.frontend.ModelSource;
import dev.kiln.frontend.OnnxReader;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.quantize.BatchNormFolding;
import dev.kiln.frontend.quantize.Calibration;
import dev.kiln.frontend.quantize.QdqRewriter;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.passes.ControlFlow;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Post-training static quantization: write MODEL as a standard QDQ ONNX model (QuantizeLinear/DequantizeLinear "
                + "around the inputs of Conv, MatMul and Gemm: int8 weights, uint8 or int8 activations with calibrated ranges) that "
                + "ONNX Runtime and Kiln both run, and report the weight bytes saved and the drift of the outputs.",
                "Calibration and the drift report run the models in ONNX Runtime on this machine's CPU."})
final class QuantizeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "model.onnx, or zoo:NAME for a built-in model (see 'kiln zoo')")
    String model;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.onnx", description = "the quantized model to write")
    Path output;

    @Option(names = "--calibrate", paramLabel = "DIR|random:N", defaultValue = "random:32",
            description = "calibration inputs: a directory of .npy files named after the model's inputs (one sample; or one sample per "
                    + "subdirectory), or N random samples (default: ${DEFAULT-VALUE}; real data calibrates a real model far better)")
    String calibrate;

    @Option(names = "--method", paramLabel = "minmax|percentile|entropy", defaultValue = "minmax",
            description = "how an activation's range is found from its calibration values (default: ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--percentile", paramLabel = "P", defaultValue = "99.999", description = "with --method percentile: the percentile kept at each end (default: ${DEFAULT-VALUE})")
    double percentile;

    @Option(names = "--per-channel", description = "one weight scale per output channel (needs opset 13+); default: one per tensor")
    boolean perChannel;

    @Option(names = "--activations", paramLabel = "uint8|int8", defaultValue = "uint8", description = "the activations' type (default: ${DEFAULT-VALUE})")
    String activations;

    @Option(names = "--exclude", paramLabel = "NODE,...", split = ",", description = "nodes (by name) left in float")
    List<String> exclude;

    @Option(names = "--input-shape", paramLabel = "NAME=D1,D2,..", description = "bind an input's dynamic dimensions (repeatable)")
    List<String> inputShapes;

    @Option(names = "--seed", defaultValue = "0", description = "seed of random:N calibration inputs (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--threads", defaultValue = "0", description = "ONNX Runtime's threads while calibrating (default: one per core)")
    int threads;

    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() {
        DType act = switch (activations.strip().toLowerCase(Locale.ROOT)) {
            case "uint8" -> DType.UINT8;
            case "int8" -> DType.INT8;
            default -> throw new KilnException("--activations " + activations + ": expected uint8 or int8");
        };
        var opts = new QdqRewriter.Options(perChannel, act, new LinkedHashSet<>(exclude == null ? List.of() : exclude));
        quantize(model, output, opts, Calibration.Method.parse(method), percentile, calibrate, Options.inputShapes(inputShapes), seed,
                threads > 0 ? threads : Runtime.getRuntime().availableProcessors(), System.out::println);
        return 0;
    }

    /** What {@link #quantize} did, for tests and the report. */
    record Report(QdqRewriter.Plan plan, QdqRewriter.Result result, int foldedBatchNorms, long initializerBytesBefore, long initializerBytesAfter,
                  int samples, List<Drift> drift) {}

    static Report quantize(String model, Path out, QdqRewriter.Options opts, Calibration.Method method, double percentile, String calibrate,
                           Map<String, long[]> shapes, long seed, int threads, Consumer<String> print) {
        byte[] bytes = ModelSource.onnxBytes(model);
        ModelProto original = OnnxReader.parseModel(bytes, model);
        Path dir = ModelSource.isZoo(model) ? null : Path.of(model).toAbsolutePath().getParent();
        BatchNormFolding.Result folded = BatchNormFolding.run(original, model, dir);
        ModelProto proto = folded.model();
        Graph g = ModelSource.load(model, shapes);
        ControlFlow.run(g);
        ShapeInference.run(g);
        QdqRewriter.Plan plan = QdqRewriter.plan(proto, opts, name -> {
            try {
                return g.value(name).dtype();
            } catch (KilnException e) {
                return null;
            }
        });
        if (plan.quantizedNodes().isEmpty())
            throw new KilnException("nothing to quantize in " + model + ": no Conv, MatMul or Gemm with float32 inputs"
                    + (plan.skipped().isEmpty() ? "" : " (skipped: " + plan.skipped() + ")"));
        List<Map<String, Tensor>> samples = CalibrationData.load(calibrate, g.inputs(), seed);
        Calibration cal = new Calibration(method, percentile);
        Set<String> fromInputs = new LinkedHashSet<>();
        for (Value v : g.inputs()) if (plan.activations().contains(v.name())) fromInputs.add(v.name());
        try (OrtModel ort = new OrtModel(QdqRewriter.calibrationModel(proto, plan).toByteArray(), threads)) {
            for (int pass = 0; pass < (cal.needsSecondPass() ? 2 : 1); pass++) {
                for (Map<String, Tensor> s : samples) {
                    Map<String, Tensor> values = new java.util.HashMap<>(ort.run(s));
                    for (String in : fromInputs) values.put(in, s.get(in));
                    for (String a : plan.activations()) {
                        float[] v = values.get(a).floats();
                        if (pass == 0) cal.observe(a, v);
                        else cal.histogram(a, v);
                    }
                }
            }
        }
        QdqRewriter.Result result = QdqRewriter.apply(proto, plan, cal.ranges(), opts, model, dir);
        byte[] quantized = result.model().toByteArray();
        List<Drift> drift = drift(bytes, quantized, samples, threads);
        AtomicFiles.write(out, quantized);
        Report r = new Report(plan, result, folded.folded(), QdqRewriter.initializerBytes(original), QdqRewriter.initializerBytes(result.model()),
                samples.size(), drift);
        report(r, model, out, opts, method, calibrate, print);
        return r;
    }

    /** Runs both models in ONNX Runtime on every sample and compares their float outputs. */
    private static List<Drift> drift(byte[] original, byte[] quantized, List<Map<String, Tensor>> samples, int threads) {
        try (OrtModel ref = new OrtModel(original, threads); OrtModel q = new OrtModel(quantized, threads)) {
            return Drift.measure(ref.outputNames(), ref::run, q::run, samples);
        }
    }

    private static void report(Report r, String model, Path out, QdqRewriter.Options opts, Calibration.Method method, String calibrate,
                               Consumer<String> print) {
        QdqRewriter.Plan p = r.plan();
        print.accept(String.format("quantized %s: %d of %d Conv/MatMul/Gemm nodes (%s int8 weights, %s activations, %d activation tensors, "
                        + "%s ranges from %d calibration input%s: %s)", model, p.quantizedNodes().size(), p.quantizedNodes().size() + p.skipped().size(),
                opts.perChannel() ? "per-channel" : "per-tensor", opts.activations().numpyName, p.activations().size(),
                method.name().toLowerCase(Locale.ROOT), r.samples(), r.samples() == 1 ? "" : "s", calibrate));
        if (r.foldedBatchNorms() > 0) print.accept("  folded " + r.foldedBatchNorms() + " BatchNormalization into the Conv before each, first");
        p.skipped().forEach((node, why) -> print.accept("  left in float: " + node + " (" + why + ")"));
        QdqRewriter.Result q = r.result();
        print.accept(String.format("weights: %.2f MB float32 -> %.2f MB int8 with their scales; all initializers %.2f MB -> %.2f MB (%.1f %%)",
                q.floatWeightBytes() / 1e6, q.quantizedWeightBytes() / 1e6, r.initializerBytesBefore() / 1e6, r.initializerBytesAfter() / 1e6,
                100.0 * r.initializerBytesAfter() / Math.max(1, r.initializerBytesBefore())));
        Drift.print("drift over the calibration inputs (ONNX Runtime, the float model against the quantized one):", r.drift(), print);
        print.accept("wrote " + out);
    }
}
