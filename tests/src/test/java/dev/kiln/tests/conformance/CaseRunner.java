package dev.kiln.tests.conformance;

import dev.kiln.driver.Compare;
import dev.kiln.driver.Compiler;
import dev.kiln.codegen.Packaging;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.frontend.Npy;
import dev.kiln.frontend.OnnxReader;
import dev.kiln.frontend.onnx.OnnxProto.GraphProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.frontend.onnx.OnnxProto.ValueInfoProto;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Tensor;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.codegen.cuda.Ptxas;
import dev.kiln.targets.DeviceRuntime;
import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.Target;
import dev.kiln.tests.conformance.CaseResult.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs one backend test case through the full native pipeline (frontend, graph passes,
 * kernels, LLVM, link), loads the library and compares every output of every data set with
 * the expected one: |a-b| <= 1e-5 + 1e-3|b| for floats, exact for integers and bools.
 */
public final class CaseRunner {
    static final double ATOL = 1e-5, RTOL = 1e-3;
    /**
     * bfloat16 outputs: one rounding step of the type (at most 2^-7 relative). The test data truncates
     * float to bfloat16 where ONNX Runtime (and Kiln) round to nearest even.
     */
    static final double RTOL_BFLOAT16 = 1.0 / 128;

    /** How Kiln says a shape-deciding input is not a constant; group 1 is the input's name. */
    private static final Pattern ADVICE = Pattern.compile("--input-value ([^=\\s]+)=V1");
    private static final Pattern NOT_CONSTANT = Pattern.compile("\\('([^']*)'\\) (must be|is not) a compile-time constant");

    private final Path work;
    private final Target target;

    /** @param work a scratch folder for the compiled libraries and rewritten models */
    public CaseRunner(Path work) {
        this(work, Target.host());
    }

    /**
     * Cases compiled for {@code target}: a library loaded in-process when this machine runs its
     * code, else a static program run by the target's {@link DeviceRuntime} (qemu for aarch64).
     */
    public CaseRunner(Path work, Target target) {
        this.work = work;
        this.target = target;
    }

    /** The architectures a CUDA case's PTX is assembled for when no GPU can run it. */
    static final List<String> PTX_ARCHS = List.of("sm_80", "sm_90");

    /**
     * A CUDA case where no GPU runs it: passed when ptxas accepts its PTX module (OUT.ptx beside
     * the library) for every architecture of {@link #PTX_ARCHS}; the outputs are not checked.
     */
    private CaseResult assemble(ConformanceCase c, String op, boolean isBound, Path so) {
        Path ptx = so.resolveSibling(so.getFileName().toString().replaceAll("\\.so$", "") + ".ptx");
        Path ptxas = Ptxas.find().orElse(null);
        if (ptxas == null) return new CaseResult(c.id(), Status.FAILED, op, isBound, "ptxas not found (install the CUDA toolkit)");
        try {
            for (String arch : PTX_ARCHS) Ptxas.check(ptxas, ptx, arch);
            return new CaseResult(c.id(), Status.PASSED, op, isBound, "");
        } catch (RuntimeException e) {
            return new CaseResult(c.id(), Status.FAILED, op, isBound, Reasons.shorten(e.getMessage()));
        } finally {
            for (String ext : List.of(".so", ".h", ".ptx")) {
                try {
                    Files.deleteIfExists(so.resolveSibling(so.getFileName().toString().replaceAll("\\.so$", "") + ext));
                } catch (IOException e) {
                    // the scratch folder goes at the end of the run
                }
            }
        }
    }

    /** One data set: input tensors in graph-input order and expected outputs in graph-output order. */
    private record DataSet(List<Tensor> inputs, List<Tensor> outputs) {}

    public CaseResult run(ConformanceCase c) {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(Files.readAllBytes(c.model()));
        } catch (IOException e) {
            return new CaseResult(c.id(), Status.FAILED, "?", false, "model cannot be read: " + e.getMessage());
        }
        String op = OpNames.testedOp(c.name(), model.getGraph());
        String outOfScope = OutOfScope.reason(model);
        if (outOfScope != null) return new CaseResult(c.id(), Status.OUT_OF_SCOPE, op, false, outOfScope);

        GraphProto g = model.getGraph();
        Set<String> initializers = new LinkedHashSet<>();
        for (TensorProto t : g.getInitializerList()) initializers.add(t.getName());
        List<String> inputNames = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) if (!initializers.contains(v.getName())) inputNames.add(v.getName());
        // Inputs with a fully static declared shape need no --input-shape (and it could not say 0).
        Set<String> staticInputs = new LinkedHashSet<>();
        for (ValueInfoProto v : g.getInputList())
            if (v.getType().hasTensorType() && v.getType().getTensorType().hasShape()
                    && v.getType().getTensorType().getShape().getDimList().stream().allMatch(d -> d.hasDimValue()))
                staticInputs.add(v.getName());
        List<String> outputNames = g.getOutputList().stream().map(ValueInfoProto::getName).toList();

        List<DataSet> sets;
        try {
            sets = bfloat16Bits(dataSets(c.dir()), g, inputNames);
        } catch (RuntimeException e) {
            return new CaseResult(c.id(), Status.UNSUPPORTED, op, false, "test data: " + Reasons.shorten(e.getMessage()));
        }
        if (sets.isEmpty()) return new CaseResult(c.id(), Status.FAILED, op, false, "no test data sets");
        for (DataSet s : sets) {
            if (s.inputs.size() != inputNames.size())
                return new CaseResult(c.id(), Status.UNSUPPORTED, op, false, "test data feeds " + s.inputs.size()
                        + " inputs but the graph has " + inputNames.size() + " (optional inputs left out)");
            if (s.outputs.size() != outputNames.size())
                return new CaseResult(c.id(), Status.FAILED, op, false, "test data has " + s.outputs.size()
                        + " outputs but the graph has " + outputNames.size());
            for (ValueInfoProto v : g.getInputList()) {
                int i = inputNames.indexOf(v.getName());
                if (i < 0 || !staticInputs.contains(v.getName())) continue;
                long[] declared = v.getType().getTensorType().getShape().getDimList().stream().mapToLong(d -> d.getDimValue()).toArray();
                if (!java.util.Arrays.equals(declared, s.inputs.get(i).shape().longDims()))
                    return new CaseResult(c.id(), Status.OUT_OF_SCOPE, op, false, "the test data feeds '" + v.getName() + "' as "
                            + s.inputs.get(i).shape() + " but the model declares " + java.util.Arrays.toString(declared)
                            + " (ONNX Runtime refuses it too)");
            }
        }

        // Compile; bind a shape-deciding input only when Kiln says it must be a constant.
        Set<String> bound = new LinkedHashSet<>();
        boolean inProcess = target.canRunOnHost();
        boolean ptxOnly = !inProcess && target instanceof GpuTarget gpu && gpu.api() == GpuTarget.Api.CUDA;
        Path so = work.resolve(c.suite() + "-" + c.name() + (inProcess || ptxOnly ? ".so" : ""));
        try {
            while (true) {
                try {
                    Map<String, long[]> shapes = new LinkedHashMap<>();
                    for (int i = 0; i < inputNames.size(); i++)
                        if (!bound.contains(inputNames.get(i)) && !staticInputs.contains(inputNames.get(i))) shapes.put(inputNames.get(i), sets.get(0).inputs.get(i).shape().longDims());
                    // Bound the way a user binds them: --input-value with data set 0's values.
                    Map<String, List<String>> values = new LinkedHashMap<>();
                    for (int i = 0; i < inputNames.size(); i++)
                        if (bound.contains(inputNames.get(i))) values.put(inputNames.get(i), valueStrings(sets.get(0).inputs.get(i)));
                    Compiler.compile(c.model().toString(), so, new Compiler.Options(target, shapes, null, false, ConfigSource.DEFAULTS,
                            inProcess || ptxOnly ? Packaging.LIBRARY : Packaging.STATIC_EXECUTABLE, null, values));
                    break;
                } catch (KilnException e) {
                    // The inputs the error asks to bind: the one it names, or those its --input-value advice names.
                    Matcher m = NOT_CONSTANT.matcher(String.valueOf(e.getMessage()));
                    boolean more = m.find() && inputNames.contains(m.group(1)) && bound.add(m.group(1));
                    Matcher advice = ADVICE.matcher(String.valueOf(e.getMessage()));
                    while (advice.find()) more |= inputNames.contains(advice.group(1)) && bound.add(advice.group(1));
                    if (more) continue;
                    return new CaseResult(c.id(), Status.UNSUPPORTED, op, !bound.isEmpty(), Reasons.shorten(e.getMessage()));
                }
            }
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            return new CaseResult(c.id(), Status.FAILED, op, !bound.isEmpty(), "compiler error: " + Reasons.ofThrowable(e));
        }
        boolean isBound = !bound.isEmpty();
        if (ptxOnly) return assemble(c, op, isBound, so);
        if (isBound) {
            for (DataSet s : sets.subList(1, sets.size()))
                for (int i = 0; i < inputNames.size(); i++)
                    if (bound.contains(inputNames.get(i)) && !sameValues(s.inputs.get(i), sets.get(0).inputs.get(i)))
                        return new CaseResult(c.id(), Status.FAILED, op, true, "bound shape input differs between data sets");
        }

        try (KilnLibrary lib = inProcess ? new KilnLibrary(so, 1) : null) {
            for (int k = 0; k < sets.size(); k++) {
                DataSet s = sets.get(k);
                Map<String, Tensor> feed = new LinkedHashMap<>();
                for (int i = 0; i < inputNames.size(); i++)
                    if (!bound.contains(inputNames.get(i))) feed.put(inputNames.get(i), s.inputs.get(i));
                Map<String, Tensor> actual = inProcess ? lib.run(feed) : runProgram(so, feed, outputNames, k);
                for (int o = 0; o < outputNames.size(); o++) {
                    Tensor got = actual.get(outputNames.get(o));
                    if (got == null)
                        return new CaseResult(c.id(), Status.FAILED, op, isBound, "library has no output '" + outputNames.get(o) + "'");
                    Compare cmp = Compare.of(got, s.outputs.get(o), ATOL, s.outputs.get(o).dtype() == DType.BFLOAT16 ? RTOL_BFLOAT16 : RTOL);
                    if (!cmp.ok())
                        return new CaseResult(c.id(), Status.FAILED, op, isBound, "wrong output " + o + (sets.size() > 1 ? " (data set " + k + ")" : "")
                                + ": " + cmp.detail());
                }
            }
        } catch (RuntimeException e) {
            return new CaseResult(c.id(), Status.FAILED, op, isBound, "run: " + Reasons.ofThrowable(e));
        } finally {
            deleteQuietly(so);
            deleteQuietly(so.resolveSibling(so.getFileName().toString().replaceAll("\\.so$", ".h")));
        }
        return new CaseResult(c.id(), Status.PASSED, op, isBound, "");
    }

    /** Runs the case's program on one data set through the target's runtime: .npy files in, .npy files out. */
    private Map<String, Tensor> runProgram(Path program, Map<String, Tensor> feed, List<String> outputNames, int set) {
        Path dir = work.resolve(program.getFileName() + "-set" + set);
        try {
            Path outDir = Files.createDirectories(dir.resolve("out"));
            Map<String, Path> files = new LinkedHashMap<>();
            int i = 0;
            for (var e : feed.entrySet()) {
                Path f = dir.resolve("in" + i++ + ".npy");
                Npy.write(f, e.getValue());
                files.put(e.getKey(), f);
            }
            DeviceRuntime.forTarget(target).run(program, files, outDir, 1, 0, 120);
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : outputNames) {
                Path f = outDir.resolve(Npy.fileName(name));
                if (Files.exists(f)) out.put(name, Npy.read(f));
            }
            return out;
        } catch (IOException e) {
            throw new KilnException("cannot stage the data set in " + dir + ": " + e.getMessage(), e);
        } finally {
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(CaseRunner::deleteQuietly);
        } catch (IOException ignored) {
            // a leftover scratch folder is harmless
        }
    }

    private static boolean sameValues(Tensor a, Tensor b) {
        if (a.dtype() != b.dtype() || !a.shape().equals(b.shape())) return false;
        for (int i = 0; i < a.size(); i++) if (Double.compare(a.getDouble(i), b.getDouble(i)) != 0) return false;
        return true;
    }

    /** A tensor's values as {@code --input-value} takes them. */
    private static List<String> valueStrings(Tensor t) {
        List<String> r = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) r.add(t.dtype().isFloat() ? String.valueOf(t.getDouble(i)) : String.valueOf(t.getLong(i)));
        return r;
    }

    /**
     * The test data holds bfloat16 tensors as their bit patterns in uint16 (numpy has no
     * bfloat16): those of inputs and outputs the model declares bfloat16 are read as such.
     */
    private static List<DataSet> bfloat16Bits(List<DataSet> sets, GraphProto g, List<String> inputNames) {
        Set<String> bf16 = new java.util.HashSet<>();
        for (ValueInfoProto v : g.getInputList()) if (v.getType().getTensorType().getElemType() == DType.BFLOAT16.onnxCode) bf16.add(v.getName());
        List<String> outs = new ArrayList<>();
        for (ValueInfoProto v : g.getOutputList()) {
            outs.add(v.getName());
            if (v.getType().getTensorType().getElemType() == DType.BFLOAT16.onnxCode) bf16.add(v.getName());
        }
        if (bf16.isEmpty()) return sets;
        java.util.function.BiFunction<String, Tensor, Tensor> bits = (name, t) -> bf16.contains(name) && t.dtype() == DType.UINT16
                ? Tensor.fromBytes(DType.BFLOAT16, t.shape(), t.toBytes()) : t;
        List<DataSet> r = new ArrayList<>();
        for (DataSet d : sets) {
            List<Tensor> in = new ArrayList<>(), out = new ArrayList<>();
            for (int i = 0; i < d.inputs().size(); i++) in.add(i < inputNames.size() ? bits.apply(inputNames.get(i), d.inputs().get(i)) : d.inputs().get(i));
            for (int i = 0; i < d.outputs().size(); i++) out.add(i < outs.size() ? bits.apply(outs.get(i), d.outputs().get(i)) : d.outputs().get(i));
            r.add(new DataSet(in, out));
        }
        return r;
    }

    private static List<DataSet> dataSets(Path dir) {
        List<DataSet> r = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path set : s.filter(p -> p.getFileName().toString().startsWith("test_data_set_")).sorted().toList()) {
                r.add(new DataSet(numbered(set, "input_").stream().map(p -> OnnxReader.readTensor(p).tensor()).toList(),
                        numbered(set, "output_").stream().map(p -> OnnxReader.readTensor(p).tensor()).toList()));
            }
        } catch (IOException e) {
            throw new KilnException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return r;
    }

    private static List<Path> numbered(Path set, String prefix) {
        List<Path> r = new ArrayList<>();
        for (int i = 0; Files.exists(set.resolve(prefix + i + ".pb")); i++) r.add(set.resolve(prefix + i + ".pb"));
        return r;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover scratch file is harmless
        }
    }
}
