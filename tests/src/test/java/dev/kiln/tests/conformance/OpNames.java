package dev.kiln.tests.conformance;

import dev.kiln.frontend.onnx.OnnxProto.GraphProto;
import dev.kiln.frontend.onnx.OnnxProto.NodeProto;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/** Which ONNX op a backend test case tests, for grouping the report by op. */
final class OpNames {
    private OpNames() {}

    /**
     * The op of a single-op graph (Constants aside); otherwise the graph's op whose name best
     * matches the case name ("test_reduce_max_..." tests ReduceMax); otherwise the first op.
     * Expanded cases (function bodies) are regrouped under their base case by the report.
     */
    static String testedOp(String caseName, GraphProto g) {
        Set<String> ops = new LinkedHashSet<>();
        for (NodeProto n : g.getNodeList()) if (!n.getOpType().equals("Constant")) ops.add(n.getOpType());
        if (ops.isEmpty()) return g.getNodeCount() > 0 ? g.getNode(0).getOpType() : "(empty)";
        if (ops.size() == 1) return ops.iterator().next();
        String name = normalize(caseName.replaceFirst("^test_", ""));
        String best = null;
        for (String op : ops)
            if (name.startsWith(normalize(op)) && (best == null || op.length() > best.length())) best = op;
        return best != null ? best : ops.iterator().next();
    }

    static String normalize(String s) {
        return s.replace("_", "").toLowerCase(Locale.ROOT);
    }
}
