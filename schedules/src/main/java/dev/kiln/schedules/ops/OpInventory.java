package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.ops.DataDependent;
import dev.kiln.irhigh.ops.Int8Conv;
import dev.kiln.irhigh.ops.Int8MatMul;
import dev.kiln.irhigh.ops.Bf16MatMul;
import dev.kiln.irhigh.ops.Bf16Conv;
import dev.kiln.irhigh.ops.Blocked;
import dev.kiln.irhigh.ops.OpRegistry;
import dev.kiln.irhigh.ops.RnnCell;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.lower.LowerTe;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.gpu.GpuSchedules;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.Target;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The operator inventory: for each graph op Kiln compiles natively, its compute (tensor
 * expressions, in the family classes) and its default schedule ({@link DefaultSchedules}).
 */
public final class OpInventory {
    private OpInventory() {}

    /** The loop-IR element type that holds a graph dtype. */
    public static dev.kiln.irlow.ScalarType scalarType(dev.kiln.irhigh.DType t) {
        return OpBuilder.scalar(t);
    }

    /**
     * The scheduled kernel of {@code node}. {@code graph} must have been through shape inference
     * (every value's dtype and static shape known); its initializers are the constants the
     * kernel may fold. Throws a {@link dev.kiln.irhigh.KilnException} naming the node for an op
     * without a native kernel.
     */
    public static Kernel lower(Node node, Graph graph, Target target) {
        return lower(node, graph, target, Knobs.defaults());
    }

    /**
     * The kernel of {@code node} scheduled with the knob values {@code knobs} gives (its defaults,
     * or a tuned config); afterwards {@code knobs.space()} is the kernel's config space and
     * {@code knobs.config()} the point used.
     */
    public static Kernel lower(Node node, Graph graph, Target target, Knobs knobs) {
        return schedule(node, graph, target, knobs).kernel();
    }

    /** The config space of {@code node}'s kernel for {@code target}: the knobs its templates declare. */
    public static ConfigSpace space(Node node, Graph graph, Target target) {
        Knobs k = Knobs.defaults();
        lower(node, graph, target, k);
        return k.space();
    }

    /**
     * The panel width (columns) {@code SplitRecurrent} packs a recurrent layer's R in for
     * {@code target}: what one step of the recurrence kernel's product keeps in registers.
     */
    public static int recurrentPanel(Target target) {
        return Recurrence.panel(target);
    }

    /** A kernel with the schedule that made it (its trace replays on {@code unscheduled}). */
    public record Scheduled(Kernel kernel, PrimFunc unscheduled, Schedule schedule) {}

    /** Like {@link #lower(Node, Graph, Target, Knobs)}, keeping the unscheduled function and the schedule. */
    public static Scheduled schedule(Node node, Graph graph, Target target, Knobs knobs) {
        if (node.domain().equals(RnnCell.DOMAIN) && node.op().equals(RnnCell.OP)) {
            // Loop IR written out (a sequential time loop); its input projection is a MatMul of its own.
            Kernel k = Recurrence.kernel(node, graph, target);
            return new Scheduled(k, k.func(), new Schedule(k.func()));
        }
        if (Int8MatMul.is(node) && target instanceof CpuTarget cpu) {
            // Loop IR written out around the byte dot product; its knobs are the tile and the loop order.
            Kernel k = Int8MatMulKernel.kernel(node, graph, cpu, knobs);
            return new Scheduled(k, k.func(), new Schedule(k.func()));
        }
        if (Int8Conv.is(node) && target instanceof CpuTarget cpu) {
            // Loop IR written out around the byte dot product, pixels in lanes; its knobs are the tile and the loop order.
            Kernel k = Int8ConvKernel.kernel(node, graph, cpu, knobs);
            return new Scheduled(k, k.func(), new Schedule(k.func()));
        }
        if (Bf16MatMul.is(node) && target instanceof CpuTarget cpu) {
            // Loop IR written out around the bf16 pair dot product, like the int8 kernel.
            Kernel k = Bf16MatMulKernel.kernel(node, graph, cpu, knobs);
            return new Scheduled(k, k.func(), new Schedule(k.func()));
        }
        if (Bf16Conv.is(node) && target instanceof CpuTarget cpu) {
            // A direct conv on the blocked layout around the bf16 pair dot product.
            Kernel k = Bf16ConvKernel.kernel(node, graph, cpu, knobs);
            return new Scheduled(k, k.func(), new Schedule(k.func()));
        }
        if (writtenOut(node)) {
            // Loop IR written out: RoiAlign's samples per bin depend on each region's size at run
            // time, Det's elimination is sequential, MaxUnpool scatters, TopK keeps a heap per row (tensor expressions
            // could only rank, quadratic in the axis length), TfIdfVectorizer matches n-grams against a vocabulary, and NonZero, NonMaxSuppression and
            // Unique learn their output lengths only as they run.
            Kernel k = switch (node.op()) {
                case "Det" -> DetKernel.kernel(node, graph, target);
                case "TopK" -> TopKKernel.kernel(node, graph, target);
                case "RoiAlign" -> RoiAlignKernel.kernel(node, graph, target);
                case "MaxUnpool" -> MaxUnpoolKernel.kernel(node, graph);
                case "TfIdfVectorizer" -> TfIdfVectorizerKernel.kernel(node, graph, target);
                default -> DataDependentKernels.kernel(node, graph);
            };
            return new Scheduled(k, k.func(), new Schedule(k.func()));
        }
        OpCompute c = compute(node, graph, target);
        if (target instanceof CpuTarget && node.op().equals("Concat") && node.domain().isEmpty()) {
            // Copies written out, not a scheduled nest (see Movement.concatCopies); nothing to tune.
            PrimFunc copies = Movement.concatCopies(node, c);
            return new Scheduled(new Kernel(copies, c.inputNames(), c.outputNames(), info(node, graph, c)), copies, new Schedule(copies));
        }
        PrimFunc f = LowerTe.lower(c.funcName(), c.inputs(), c.outputs());
        Schedule s = new Schedule(f);
        switch (target) {
            case CpuTarget cpu -> DefaultSchedules.apply(s, c, cpu, knobs);
            case GpuTarget gpu -> {
                if (Blocked.is(node))
                    throw node.error("is a blocked (NCHWc) op, which only CPU targets use; target " + gpu.name() + " is a GPU");
                GpuSchedules.apply(s, c, gpu, knobs);
            }
        }
        return new Scheduled(new Kernel(s.func(), c.inputNames(), c.outputNames(), info(node, graph, c)), f, s);
    }

    /** Whether a constant of a compiled graph is int8 weights packed four to an int32 word (for reporting their size as int8). */
    public static boolean isPackedInt8Weights(String constant) {
        return Packed.isInt8(constant);
    }

    /** Whether a constant of a compiled graph is bf16 weights packed two to an int32 word (for reporting their size as bf16). */
    public static boolean isPackedBf16Weights(String constant) {
        return Packed.isBf16(constant);
    }

    /**
     * Whether float MatMuls with a constant B may become {@link Bf16MatMul} for {@code target} (asked
     * for {@code --precision bf16}): where the CPU has the bf16 pair dot product. Elsewhere the widened
     * product would be no faster than fp32, only less accurate.
     */
    public static boolean bf16MatMul(CpuTarget target) {
        return target.hasBf16DotProduct();
    }

    /**
     * Whether quantized MatMuls with a constant B should become {@link Int8MatMul} for {@code target}
     * (the graph pass asks): where the CPU has the byte dot product. Elsewhere the kernel's widened
     * dot product is exact but no faster than the int32 MatMul of the decomposition.
     */
    public static boolean int8MatMul(CpuTarget target) {
        return target.hasInt8DotProduct();
    }

    /** ONNX ops whose kernel is loop IR written out by hand: no tensor-expression compute, nothing to tune. */
    private static final Set<String> WRITTEN_OUT = Set.of("Det", "RoiAlign", "TopK", "MaxUnpool", "TfIdfVectorizer");

    /** Whether {@code node}'s kernel is written out as loop IR (it has no {@link #compute}). */
    static boolean writtenOut(Node node) {
        return OpRegistry.isOnnxDomain(node.domain()) && WRITTEN_OUT.contains(node.op()) || DataDependent.is(node);
    }

    /** An op as profiles name it: a conv says whether it is depthwise or grouped, and over how many spatial dimensions. */
    private static String opLabel(Node n, Graph scope, Graph graph) {
        String inner = Blocked.inner(n);
        if (!"Conv".equals(inner) && !n.op().equals("Conv") && !n.op().equals("ConvTranspose")) return n.op();
        long group = n.attrInt("group", 1);
        String w = n.inputs().size() > 1 ? n.input(1) : "";
        Graph owner = scope.values().containsKey(w) || scope.initializers().containsKey(w) ? scope : graph;
        int[] weight = owner.values().containsKey(w) || owner.initializers().containsKey(w) ? owner.value(w).shape().dims() : new int[0];
        int spatial = Math.max(0, weight.length - 2);
        // Depthwise: one input channel per group (Conv's weight is [M, C/group, k...]; ConvTranspose's [C, M/group, k...]).
        boolean depthwise = group > 1 && weight.length > 1 && (n.op().equals("ConvTranspose") ? weight[0] == group : weight[1] == 1);
        String kind = group == 1 ? "" : depthwise ? "depthwise" : "group " + group;
        String dims = spatial > 0 && spatial != 2 ? spatial + "-D" : "";
        String tags = String.join(",", Stream.of(dims, kind).filter(t -> !t.isEmpty()).toList());
        return tags.isEmpty() ? n.op() : n.op() + "(" + tags + ")";
    }

    /** The kernel's description for profiles, without its layout (which depends on the graph around it). */
    private static Kernel.Info info(Node node, Graph graph, OpCompute c) {
        Graph scope = FuseOps.isFused(node) ? FuseOps.body(node) : graph;
        List<String> ops = scope == graph ? List.of(opLabel(node, graph, graph))
                : scope.nodes().stream().map(n -> opLabel(n, scope, graph)).toList();
        // The anchor's template first (declaration order puts the most specific first), injective last.
        String template = DefaultSchedules.materialized(c).stream().map(c::templateOf).distinct().sorted(
                java.util.Comparator.comparingInt(t -> t == Template.INJECTIVE ? Integer.MAX_VALUE : -t.ordinal()))
                .map(t -> t.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining("+"));
        return new Kernel.Info(node.name(), ops, template, "", Work.flops(node, graph));
    }

    /**
     * The unscheduled compute of {@code node}: what tuning starts from. The target only decides
     * layouts a compute packs constants into (the channel block of packed conv weights).
     */
    public static OpCompute compute(Node node, Graph graph, Target target) {
        if (FuseOps.isFused(node)) return FusedGroup.compute(node, graph, target);
        return HalfPromotion.promote(opCompute(node, graph, target));
    }

    /** One op's compute as its builder writes it (fp16 arithmetic not yet promoted). */
    private static OpCompute opCompute(Node node, Graph graph, Target target) {
        if (Blocked.is(node)) {
            OpBuilder b = new OpBuilder(node, graph, target);
            switch (node.op()) {
                case Blocked.TO -> ConvNchwc.toBlocked(b);
                case Blocked.FROM -> ConvNchwc.fromBlocked(b);
                case "ConvNCHWc" -> ConvNchwc.conv(b);
                case "MaxPoolNCHWc", "AveragePoolNCHWc" -> ConvNchwc.pool(b);
                case "GlobalAveragePoolNCHWc", "GlobalMaxPoolNCHWc" -> ConvNchwc.global(b);
                default -> throw node.error("no native kernel for op " + node.domain() + "." + node.op());
            }
            return b.build();
        }
        if (Int8MatMul.is(node)) {
            OpBuilder b = new OpBuilder(node, graph, target);
            Int8MatMulKernel.compute(b);
            return b.build();
        }
        if (Int8Conv.is(node)) {
            OpBuilder b = new OpBuilder(node, graph, target);
            Int8ConvKernel.compute(b);
            return b.build();
        }
        if (Bf16Conv.is(node)) throw node.error("is a bf16 conv on the blocked layout, which only CPU targets with AVX-512 BF16 use");
        if (Bf16MatMul.is(node)) {
            OpBuilder b = new OpBuilder(node, graph, target);
            Bf16MatMulKernel.compute(b);
            return b.build();
        }
        if (!node.domain().isEmpty() && !node.domain().equals("ai.onnx"))
            throw node.error("no native kernel for op " + node.domain() + "." + node.op() + " yet");
        OpBuilder b = new OpBuilder(node, graph, target);
        switch (node.op()) {
            case "Relu", "Neg", "Abs", "Sigmoid", "Tanh", "Erf", "Exp", "Log", "Sqrt", "Floor", "Ceil", "Reciprocal", "Not",
                 "LeakyRelu", "HardSigmoid", "HardSwish" -> Elementwise.unary(b);
            case "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Softplus", "Softsign",
                 "Mish", "Round", "Sign", "Elu", "Selu", "Celu", "ThresholdedRelu", "Shrink" -> Elementwise.unary(b);
            case "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or",
                 "Xor" -> Elementwise.binary(b);
            case "DFT" -> SpectralOps.dft(b);
            case "GridSample" -> GridSampleOp.gridSample(b);
            case "MeanVarianceNormalization" -> Mvn.mvn(b);
            case "STFT" -> SpectralOps.stft(b);
            case "PRelu" -> MoreUnary.prelu(b);
            case "Sum", "Mean", "Max", "Min" -> Elementwise.variadic(b);
            case "Clip" -> Elementwise.clip(b);
            case "Where" -> Elementwise.where(b);
            case "Cast", "CastLike" -> Elementwise.cast(b);
            case "BatchNormalization" -> Elementwise.batchNorm(b);
            case "Expand" -> Elementwise.expand(b);
            case "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout" -> Elementwise.copy(b);
            case "ConstantOfShape" -> Elementwise.constantOfShape(b);
            case "Conv" -> Conv.conv(b);
            case "ConvTranspose" -> ConvTranspose.convTranspose(b);
            case "MaxPool", "AveragePool" -> Pool.pool(b);
            case "GlobalAveragePool", "GlobalMaxPool" -> Pool.global(b);
            case "MatMul" -> MatMul.matmul(b);
            case "Gemm" -> MatMul.gemm(b);
            case "Transpose" -> Movement.transpose(b);
            case "Concat" -> Movement.concat(b);
            case "Split" -> Movement.split(b);
            case "Slice" -> Movement.slice(b);
            case "Gather" -> Movement.gather(b);
            case "Tile" -> Movement.tile(b);
            case "Pad" -> Movement.pad(b);
            case "Resize", "Upsample" -> Resize.resize(b);
            case "Trilu" -> ArgReduce.trilu(b);
            case "CumSum" -> ArgReduce.cumSum(b);
            case "Hardmax" -> ArgReduce.hardmax(b);
            case "InstanceNormalization" -> InstanceNorm.instanceNorm(b);
            case "EyeLike" -> ArgReduce.eyeLike(b);
            case "DepthToSpace", "SpaceToDepth" -> ArgReduce.spaceDepth(b);
            case "ArgMax", "ArgMin" -> ArgReduce.argReduce(b);
            case "GatherElements" -> ArgReduce.gatherElements(b);
            case "Mod" -> MoreUnary.mod(b);
            case "BitShift" -> BitShift.bitShift(b);
            case "GatherND" -> Indexing.gatherND(b);
            case "OneHot" -> Indexing.oneHot(b);
            case "ScatterElements", "Scatter" -> Indexing.scatterElements(b);
            case "Einsum" -> Einsum.einsum(b);
            case "ScatterND" -> Indexing.scatterND(b);
            case "QuantizeLinear", "DequantizeLinear" -> Quantize.quantizeLinear(b);
            case "Compress" -> Compress.compress(b);
            case "DynamicQuantizeLinear" -> DynamicQuantize.dynamicQuantizeLinear(b);
            case "LRN" -> Lrn.lrn(b);
            case "ReverseSequence" -> Indexing.reverseSequence(b);
            case "Det", "RoiAlign", "TopK" -> throw node.error("has no tensor-expression compute: its kernel is loop IR written out by hand "
                    + "(OpInventory.schedule)");
            case "HannWindow", "HammingWindow", "BlackmanWindow" -> throw node.error("has no native kernel: its size is a compile-time constant, so FoldConstants turns it into an initializer");
            case "IsNaN", "IsInf" -> BitShift.floatClass(b);
            case "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss" -> Losses.loss(b);
            case "Softmax", "LogSoftmax" -> Normalization.softmax(b);
            case "LayerNormalization" -> Normalization.layerNorm(b);
            case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare",
                 "ReduceLogSum", "ReduceLogSumExp" -> Reduce.reduce(b);
            case "Constant", "Shape", "Size", "Range" -> throw node.error("has no native kernel: its output is a compile-time "
                    + "constant, which FoldConstants should have turned into an initializer before code generation");
            default -> throw node.error("no native kernel for op " + node.op() + " yet");
        }
        return b.build();
    }
}
