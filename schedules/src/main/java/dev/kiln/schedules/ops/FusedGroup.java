package dev.kiln.schedules.ops;

import dev.kiln.targets.Target;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Operation;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import dev.kiln.irlow.transform.Children;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The compute of a group made by {@link FuseOps}: the anchor's compute as its op builds it, then
 * each absorbed elementwise op's compute reading the previous computes instead of placeholders.
 * The absorbed computes are not reductions, so lowering inlines them into one final loop nest
 * (the anchor's own output nest when that is elementwise, e.g. Conv's bias add): the epilogue
 * costs no extra pass over memory. The anchor's reductions keep their templates, so the group is
 * scheduled as the anchor is, with the injective default for the final nest.
 *
 * <p>Op builders see tensors through "views" (merged dimensions), which differ between ops. The
 * absorbed computes are rebuilt over the common refinement of all views, where every view's
 * index is a sum of products, so no division or modulo reaches the inner loop.
 */
final class FusedGroup {
    private FusedGroup() {}

    /**
     * The compute of {@code fused}, a node of {@code graph}. Constants the op builders derive
     * (packed weights) land in the body's initializers and are copied to {@code graph}'s, where
     * the executor looks for the kernel's inputs.
     */
    static OpCompute compute(Node fused, Graph graph, Target target) {
        Graph body = FuseOps.body(fused);
        try {
            return build(fused, body, target);
        } finally {
            body.initializers().forEach(graph.initializers()::putIfAbsent);
        }
    }

    private static OpCompute build(Node fused, Graph body, Target target) {
        List<Node> nodes = body.nodes();
        OpCompute anchor = OpInventory.compute(nodes.getFirst(), body, target);
        if (anchor.outputs().size() != 1) throw fused.error("the first op of a fused group must have one output");

        Map<String, Placeholder> external = new LinkedHashMap<>();
        for (int i = 0; i < anchor.inputs().size(); i++) external.put(anchor.inputNames().get(i), anchor.inputs().get(i));
        Set<String> names = new HashSet<>();
        collectNames(anchor.outputs().getFirst(), names);
        Map<String, Operation> built = new HashMap<>(Map.of(nodes.getFirst().output(0), anchor.outputs().getFirst()));

        List<OpCompute> absorbed = new ArrayList<>();
        List<List<Long>> views = new ArrayList<>(List.of(anchor.outputs().getFirst().shape()));
        for (Node n : nodes.subList(1, nodes.size())) {
            OpCompute c = OpInventory.compute(n, body, target);
            if (c.outputs().size() != 1) throw n.error("an absorbed op of a fused group must have one output");
            absorbed.add(c);
            views.add(c.outputs().getFirst().shape());
        }
        List<Long> grid = ViewMap.refine(views);

        Compute last = anchor.outputs().getFirst();
        for (OpCompute c : absorbed) {
            Compute o = c.outputs().getFirst();
            last = Te.compute(o.name(), o.dtype(), grid, r -> {
                Map<String, Expr> axes = new HashMap<>();
                List<Expr> at = ViewMap.remap(r, grid, o.shape());
                for (int d = 0; d < o.axes().size(); d++) axes.put(o.axes().get(d).name(), at.get(d));
                return new Reads(c, o, axes, r, grid, built, external, names).rewrite(o.body());
            });
            built.put(c.outputNames().getFirst(), last);
        }
        // The final nest replaces the anchor's output nest: where that was elementwise with a
        // template of its own (the blocked conv's NCHW conversion) and the grid is its shape, the
        // template still fits and is kept; otherwise the final nest is injective.
        Compute anchorOut = anchor.outputs().getFirst();
        Map<String, Template> templates = new HashMap<>(anchor.templates());
        templates.remove(last.name());
        Template outTemplate = anchor.templates().get(anchorOut.name());
        if (outTemplate != null && !(anchorOut.body() instanceof Expr.Reduce) && grid.equals(anchorOut.shape()) && last != anchorOut)
            templates.put(last.name(), outTemplate);
        return new OpCompute(anchor.funcName(), List.copyOf(external.values()), List.copyOf(external.keySet()), List.of(last),
                List.of(nodes.getLast().output(0)), templates);
    }

    /** Rewrites an absorbed op's body onto the group's grid {@code r}: its axes, and its reads of group values and inputs. */
    private record Reads(OpCompute c, Compute o, Map<String, Expr> axes, List<Expr.Var> r, List<Long> grid,
                         Map<String, Operation> built, Map<String, Placeholder> external, Set<String> names) {
        Expr rewrite(Expr e) {
            return switch (e) {
                case Expr.Var v -> axes.getOrDefault(v.name(), v);
                case Expr.TensorRead(Placeholder p, List<Expr> idx) -> read(p, idx);
                case Expr.TensorRead t -> throw new IllegalStateException("fused op " + o.name() + " reads compute " + t.tensor().name());
                default -> Children.map(e, this::rewrite);
            };
        }

        private Expr read(Placeholder p, List<Expr> idx) {
            String value = c.inputNames().get(c.inputs().indexOf(p));
            Operation group = built.get(value);
            if (group != null) {
                // The usual case, an identity read of a same-shaped value, maps straight from the grid.
                if (idx.equals(o.axes()) && p.shape().equals(o.shape())) return Te.read(group, ViewMap.remap(r, grid, group.shape()));
                return Te.read(group, ViewMap.remap(rewritten(idx), p.shape(), group.shape()));
            }
            Placeholder known = external.get(value);
            if (known == null) {
                known = names.add(p.name()) ? p : Te.placeholder(fresh(p.name()), p.dtype(), p.shape());
                external.put(value, known);
            }
            return Te.read(known, ViewMap.remap(rewritten(idx), p.shape(), known.shape()));
        }

        private List<Expr> rewritten(List<Expr> idx) {
            return idx.stream().map(this::rewrite).toList();
        }

        private String fresh(String base) {
            String s = base;
            for (int k = 1; !names.add(s); k++) s = base + "_" + k;
            return s;
        }
    }

    /** The names of every tensor reachable from {@code op}, so an absorbed op's new input cannot clash with them. */
    private static void collectNames(Operation op, Set<String> names) {
        if (!names.add(op.name())) return;
        if (op instanceof Compute c) for (Operation in : c.inputs()) collectNames(in, names);
    }
}
