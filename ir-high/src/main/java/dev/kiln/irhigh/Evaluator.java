package dev.kiln.irhigh;

import dev.kiln.irhigh.ops.DataDependent;
import dev.kiln.irhigh.ops.OpDef;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The reference interpreter: runs a graph node by node with each op's plain-Java definition. It is
 * the correctness oracle for everything Kiln generates, so it favours exactness (double
 * accumulation, one rounding per op) over speed. Intermediate tensors are dropped after their
 * last use. Where {@link Graph#values()} holds a type for an output, the result must match it.
 */
public final class Evaluator {
    private Evaluator() {}

    /** The graph outputs, by name, in graph output order. */
    public static Map<String, Tensor> run(Graph g, Map<String, Tensor> inputs) {
        return run(g, inputs, g.outputs());
    }

    /** Any named values of the graph (outputs, intermediates, inputs or initializers), in the order asked. */
    public static Map<String, Tensor> run(Graph g, Map<String, Tensor> inputs, List<String> wanted) {
        checkInputs(g, inputs);
        Map<String, Tensor> env = new HashMap<>(g.initializers());
        env.putAll(inputs);
        List<Node> nodes = g.nodes();
        Map<String, Integer> lastUse = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) for (String in : nodes.get(i).inputs()) lastUse.put(in, i);
        Set<String> keep = new HashSet<>(wanted);
        keep.addAll(g.initializers().keySet());
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            Tensor[] ins = new Tensor[n.inputs().size()];
            for (int k = 0; k < ins.length; k++) {
                String in = n.input(k);
                if (in.isEmpty()) continue;
                ins[k] = env.get(in);
                if (ins[k] == null) throw n.error("input '" + in + "' has no value: no graph input, initializer or earlier node defines it (are the nodes in topological order?)");
            }
            List<Tensor> outs = evalNode(n, Arrays.asList(ins));
            for (int k = 0; k < n.outputs().size(); k++) {
                String name = n.output(k);
                if (name.isEmpty()) continue;
                Tensor t = outs.get(k);
                if (t == null) throw new KilnException(n.describe() + ": internal error: output '" + name + "' was not computed");
                Value expected = g.values().get(name);
                if (expected != null && (expected.dtype() != t.dtype() || !fits(n, k, t.shape(), expected.shape())))
                    throw new KilnException(n.describe() + ": internal error: output '" + name + "' was inferred as "
                            + expected.dtype().numpyName + expected.shape() + " but evaluates to " + t.dtype().numpyName + t.shape());
                env.put(name, t);
            }
            for (String in : n.inputs()) if (lastUse.get(in) == i && !keep.contains(in)) env.remove(in);
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (String w : wanted) {
            Tensor t = env.get(w);
            if (t == null) throw new KilnException("graph '" + g.name() + "' has no value named '" + w + "'");
            result.put(w, t);
        }
        return result;
    }

    /** Whether an evaluated shape matches the inferred one: equal, or within it where the data decides the length. */
    private static boolean fits(Node n, int output, Shape actual, Shape inferred) {
        if (actual.equals(inferred)) return true;
        if (!DataDependent.mayShrink(n, output) || actual.rank() != inferred.rank()) return false;
        for (int d = 0; d < actual.rank(); d++) if (actual.dim(d) > inferred.dim(d)) return false;
        return true;
    }

    /** One node's outputs for concrete inputs (null for omitted ones); errors name the node. */
    public static List<Tensor> evalNode(Node n, List<Tensor> inputs) {
        OpDef def = OpRegistry.get(n);
        List<Tensor> outs;
        try {
            outs = def.eval(n, inputs);
        } catch (KilnException e) {
            throw e;
        } catch (RuntimeException e) {
            List<String> types = new ArrayList<>();
            for (Tensor t : inputs) types.add(t == null ? "none" : t.dtype().numpyName + t.shape());
            throw new KilnException(n.describe() + ": internal error while evaluating with inputs " + types + ": " + e, e);
        }
        if (outs.size() != n.outputs().size())
            throw new KilnException(n.describe() + ": internal error: evaluation gave " + outs.size() + " outputs for " + n.outputs().size());
        return outs;
    }

    private static void checkInputs(Graph g, Map<String, Tensor> inputs) {
        Map<String, Value> declared = new LinkedHashMap<>();
        for (Value v : g.inputs()) declared.put(v.name(), v);
        for (String name : inputs.keySet())
            if (!declared.containsKey(name))
                throw new KilnException("'" + name + "' is not an input of graph '" + g.name() + "'; its inputs are " + declared.values());
        for (Value v : declared.values()) {
            Tensor t = inputs.get(v.name());
            if (t == null)
                throw new KilnException("missing input '" + v.name() + "' (" + v.dtype().numpyName + v.shape() + ") for graph '" + g.name() + "'");
            if (t.dtype() != v.dtype() || !t.shape().equals(v.shape()))
                throw new KilnException("input '" + v.name() + "' of graph '" + g.name() + "' must be " + v.dtype().numpyName + v.shape()
                        + " but a " + t.dtype().numpyName + t.shape() + " tensor was given");
        }
    }
}
