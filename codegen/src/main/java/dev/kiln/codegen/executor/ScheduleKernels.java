package dev.kiln.codegen.executor;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.Blocked;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.lower.LoweringPipeline;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.schedules.ops.Kernel;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The executor's kernels, in call order: one scheduled and lowered kernel per graph node (a fused
 * group is one node), each under a name unique in the module, then a copy kernel for each graph
 * output its producer cannot write in place (an output that is a graph input or a constant, or a
 * value listed twice among the outputs).
 */
public final class ScheduleKernels {
    private ScheduleKernels() {}

    /** {@code dump} receives each kernel after every lowering step, as {@code <kernel>.<step>}. */
    public static List<Kernel> run(Graph g, Target target, ConfigSource configs, BiConsumer<String, PrimFunc> dump) {
        List<Kernel> kernels = new ArrayList<>();
        Map<String, Integer> nameCount = new HashMap<>();
        Layouts layouts = new Layouts();
        for (Node node : g.nodes()) {
            Kernel k = OpInventory.lower(node, g, target, configs.knobsFor(node, g, target));
            String name = unique(k.func().name(), nameCount);
            PrimFunc f = LoweringPipeline.run(k.func(), (step, fn) -> dump.accept(name + "." + step, fn));
            kernels.add(new Kernel(new PrimFunc(name, f.params(), f.body()), k.inputs(), k.outputs(),
                    k.info().withLayout(layouts.of(node))));
        }
        kernels.addAll(outputCopies(g, nameCount));
        return kernels;
    }

    /** The value graph output {@code i} is produced as: the output itself, or a fresh copy of it. */
    public static String outputValue(Graph g, int i) {
        return needsCopy(g, i) ? "__output" + i : g.outputs().get(i);
    }

    private static boolean needsCopy(Graph g, int i) {
        String v = g.outputs().get(i);
        boolean isInput = g.inputs().stream().anyMatch(x -> x.name().equals(v));
        return isInput || g.isConstant(v) || g.outputs().subList(0, i).contains(v);
    }

    private static List<Kernel> outputCopies(Graph g, Map<String, Integer> nameCount) {
        List<Kernel> r = new ArrayList<>();
        for (int i = 0; i < g.outputs().size(); i++) {
            if (!needsCopy(g, i)) continue;
            Value v = g.value(g.outputs().get(i));
            String target = outputValue(g, i);
            g.values().put(target, new Value(target, v.dtype(), v.shape()));
            ScalarType t = OpInventory.scalarType(v.dtype());
            Buffer src = new Buffer("src", t, v.shape().numel());
            Buffer dst = new Buffer("dst", t, v.shape().numel());
            Expr.Var idx = Exprs.var("i");
            Stmt body = new Stmt.For(idx, Exprs.idx(0), Exprs.idx(v.shape().numel()), ForKind.SERIAL,
                    new Stmt.Store(dst, idx, new Expr.Load(src, idx)));
            String name = unique("k_copy_output" + i, nameCount);
            r.add(new Kernel(new PrimFunc(name, List.of(src, dst), body), List.of(v.name()), List.of(target),
                    new Kernel.Info("", List.of("Identity"), "injective", "", v.shape().numel())));
        }
        return r;
    }

    /**
     * The layout each kernel reads and writes ({@code plain}: ONNX's own, row-major;
     * {@code NCHW16c}: blocked channels; {@code plain->NCHW16c}: a conversion), followed through
     * the graph in node order: a value
     * is blocked ({@code NCHW16c}) when a {@code ToBlocked} or a blocked op makes it, or when an op
     * that reads a blocked value makes it (BlockLayout lets only ops that keep the layout read one).
     */
    private static final class Layouts {
        private final Map<String, Long> blocked = new HashMap<>();

        String of(Node node) {
            List<Node> ops = FuseOps.isFused(node) ? FuseOps.body(node).nodes() : List.of(node);
            long in = 0;
            for (String v : node.inputs()) in = Math.max(in, blocked.getOrDefault(v, 0L));
            long out = in;
            for (Node n : ops) {
                if (n.domain().equals(Blocked.DOMAIN) && n.op().equals(Blocked.FROM)) out = 0;
                else if (Blocked.is(n)) out = n.attrInt(Blocked.BLOCK, 16);
            }
            for (String v : node.outputs()) if (out > 0) blocked.put(v, out);
            String from = name(in), to = name(out);
            return from.equals(to) ? to : from + "->" + to;
        }

        private static String name(long block) {
            return block == 0 ? "plain" : "NCHW" + block + "c";
        }
    }

    private static String unique(String base, Map<String, Integer> count) {
        int n = count.merge(base, 1, Integer::sum);
        return n == 1 ? base : base + "_" + n;
    }
}
