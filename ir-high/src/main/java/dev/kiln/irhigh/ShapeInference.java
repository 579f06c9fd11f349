package dev.kiln.irhigh;

import dev.kiln.irhigh.ops.DataDependent;
import dev.kiln.irhigh.ops.OpDef;
import dev.kiln.irhigh.ops.OpRegistry;
import dev.kiln.irhigh.ops.ShapeOp;
import dev.kiln.irhigh.ops.Size;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Fills {@link Graph#values()} with the dtype and static shape of every graph input, initializer
 * and node output, in topological order. Ops whose output shape depends on an input's value
 * (Reshape, Slice, Expand, ...) get that value when it is known at compile time: initializers,
 * Shape and Size outputs (shapes are static), and small results computed from those, so a shape
 * computation like Shape → Gather → Concat → Reshape resolves without folding the graph first.
 */
public final class ShapeInference {
    private ShapeInference() {}

    /** Largest result (elements) that inference computes from constants to learn more constants. */
    static final long PROPAGATE_LIMIT = 1 << 16;

    public static void run(Graph g) {
        g.sortTopologically();
        Map<String, Value> values = g.values();
        // Types the model declared for its outputs (the frontend records static ones) must agree with inference.
        Map<String, Value> declared = new HashMap<>();
        for (String o : g.outputs()) if (values.containsKey(o)) declared.put(o, values.get(o));
        values.clear();
        Walk walk = new Walk(g, values);
        for (Node n : g.nodes()) walk.visit(n);
        for (String o : g.outputs()) {
            Value v = values.get(o);
            if (v == null) throw new KilnException("graph output '" + o + "' of graph '" + g.name() + "' has no known type");
            Value d = declared.get(o);
            if (d != null && (d.dtype() != v.dtype() || !d.shape().equals(v.shape()) && !within(g, o, d.shape(), v.shape())))
                throw new KilnException("graph output '" + o + "' of graph '" + g.name() + "' is declared as " + d.dtype().numpyName + d.shape()
                        + " but the graph computes " + v.dtype().numpyName + v.shape()
                        + " (do the input shapes match the ones the model was exported with?)");
        }
    }

    /**
     * Whether a declared output shape is one the data may give an output of data-dependent
     * length (NonZero's, ...), whose type is its bound: an exporter that ran the model declares
     * the shape it saw.
     */
    private static boolean within(Graph g, String output, Shape declared, Shape bound) {
        Node n = g.producer(output);
        if (n == null || !DataDependent.mayShrink(n, n.outputs().indexOf(output)) || declared.rank() != bound.rank()) return false;
        for (int d = 0; d < declared.rank(); d++) if (declared.dim(d) > bound.dim(d)) return false;
        return true;
    }

    /**
     * Inference node by node, in an order the caller chooses: what {@link #run} does over a whole
     * graph, and what a pass that expands control flow does up to an If, Loop or Scan (whose
     * condition or trip count it then reads from {@link #known}) and through the nodes it adds.
     */
    public static final class Walk {
        private final Map<String, Value> values;
        private final Map<String, Tensor> known;

        /** A walk over {@code g} that records types in {@code values} (cleared of all but g's inputs and initializers). */
        public Walk(Graph g, Map<String, Value> values) {
            this.values = values;
            for (Value v : g.inputs()) values.put(v.name(), v);
            for (var e : g.initializers().entrySet())
                values.put(e.getKey(), new Value(e.getKey(), e.getValue().dtype(), e.getValue().shape()));
            this.known = new HashMap<>(g.initializers());
        }

        /** Infers {@code n} (its inputs visited before) and learns the values of its outputs where they follow from constants. */
        public void visit(Node n) {
            List<Value> outs = inferNode(n, values, known);
            List<Tensor> computed = null;
            if (isShapeQuery(n)) {
                computed = evalShapeQuery(n, values.get(n.input(0)).shape());
            } else if (allInputsIn(n, known) && outs.stream().filter(java.util.Objects::nonNull).mapToLong(v -> v.shape().numel()).sum() <= PROPAGATE_LIMIT) {
                computed = Evaluator.evalNode(n, inputTensors(n, known));
            }
            if (computed != null)
                for (int i = 0; i < computed.size(); i++)
                    if (!n.output(i).isEmpty() && computed.get(i) != null) known.put(n.output(i), computed.get(i));
        }

        /** The type of a value visited so far (or a graph input or initializer), else null. */
        public Value value(String name) {
            return values.get(name);
        }

        /** The value of {@code name} when it is known at compile time, else null. */
        public Tensor known(String name) {
            return known.get(name);
        }

        /** Records a constant the caller adds to the graph. */
        public void constant(String name, Tensor t) {
            known.put(name, t);
            values.put(name, new Value(name, t.dtype(), t.shape()));
        }
    }

    /**
     * Infers one node's output types from the types in {@code values} and the constants in
     * {@code constants}, and records them in {@code values}. Errors name the node.
     */
    public static List<Value> inferNode(Node n, Map<String, Value> values, Map<String, Tensor> constants) {
        OpDef def = OpRegistry.get(n);
        List<Value> ins = new ArrayList<>();
        List<Tensor> consts = new ArrayList<>();
        for (String in : n.inputs()) {
            if (in.isEmpty()) {
                ins.add(null);
                consts.add(null);
                continue;
            }
            Value v = values.get(in);
            if (v == null) throw n.error("input '" + in + "' has no known type (it is not a graph input, an initializer or an earlier node's output)");
            ins.add(v);
            consts.add(constants.get(in));
        }
        List<Value> outs;
        try {
            outs = def.infer(n, ins, consts);
        } catch (KilnException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new KilnException(n.describe() + ": internal error in shape inference with inputs " + ins + ": " + e, e);
        }
        if (outs.size() != n.outputs().size())
            throw new KilnException(n.describe() + ": internal error: shape inference gave " + outs.size() + " outputs for " + n.outputs().size());
        for (int i = 0; i < outs.size(); i++) {
            String name = n.output(i);
            if (!name.isEmpty()) values.put(name, new Value(name, outs.get(i).dtype(), outs.get(i).shape()));
        }
        return outs;
    }

    /** A Shape or Size node: its value follows from its input's static shape alone. */
    public static boolean isShapeQuery(Node n) {
        return OpRegistry.isOnnxDomain(n.domain()) && (n.op().equals("Shape") || n.op().equals("Size")) && n.hasInput(0);
    }

    /** The outputs of a Shape or Size node whose input has the given shape. */
    public static List<Tensor> evalShapeQuery(Node n, Shape input) {
        return List.of(n.op().equals("Shape") ? ShapeOp.of(n, input) : Size.of(input));
    }

    static boolean allInputsIn(Node n, Map<String, Tensor> known) {
        for (String in : n.inputs()) if (!in.isEmpty() && !known.containsKey(in)) return false;
        return true;
    }

    static List<Tensor> inputTensors(Node n, Map<String, Tensor> known) {
        return Arrays.asList(n.inputs().stream().map(in -> in.isEmpty() ? null : known.get(in)).toArray(Tensor[]::new));
    }
}
