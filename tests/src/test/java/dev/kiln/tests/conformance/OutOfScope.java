package dev.kiln.tests.conformance;

import dev.kiln.frontend.onnx.OnnxProto.AttributeProto;
import dev.kiln.frontend.onnx.OnnxProto.GraphProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.NodeProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.frontend.onnx.OnnxProto.TypeProto;
import dev.kiln.frontend.onnx.OnnxProto.ValueInfoProto;
import java.util.List;
import java.util.Set;

/**
 * Cases outside what Kiln means to compile (an inference compiler for static tensor graphs):
 * training ops and training mode, sequences, maps, strings, optional values, and random ops; and
 * the cases whose expected data ONNX Runtime does not reproduce, since Kiln matches ONNX Runtime.
 */
final class OutOfScope {
    private OutOfScope() {}

    private static final Set<String> TRAINING = Set.of("Gradient", "Adagrad", "Adam", "Momentum");
    private static final Set<String> RANDOM = Set.of("RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
            "Multinomial", "Bernoulli");
    private static final Set<String> STRINGS = Set.of("StringNormalizer", "StringConcat", "StringSplit", "RegexFullMatch");

    /** Cases whose expected data ONNX Runtime, the reference Kiln follows, does not reproduce. */
    private static final java.util.Map<String, String> ORT_DISAGREES = java.util.Map.of("test_maxunpool_export_with_output_shape",
            "ONNX Runtime disagrees with the expected data (it reads MaxUnpool's indices as flat indices into output_shape; "
                    + "the ONNX reference keeps their coordinates in the unpooled shape)");

    /** Why the model is out of scope, or null when it is in scope. */
    static String reason(ModelProto m) {
        String r = ORT_DISAGREES.get(m.getGraph().getName());
        return r != null ? r : reason(m.getGraph());
    }

    private static String reason(GraphProto g) {
        for (List<ValueInfoProto> vs : List.of(g.getInputList(), g.getOutputList(), g.getValueInfoList()))
            for (ValueInfoProto v : vs) {
                String r = typeReason(v.getType());
                if (r != null) return r;
            }
        for (TensorProto t : g.getInitializerList()) if (t.getDataType() == TensorProto.DataType.STRING_VALUE) return "strings";
        for (NodeProto n : g.getNodeList()) {
            String op = n.getOpType();
            if (n.getDomain().startsWith("ai.onnx.preview.training") || TRAINING.contains(op)) return "training op";
            if (op.startsWith("Sequence") || op.endsWith("FromSequence") || op.endsWith("ToSequence")) return "sequences";
            if (op.startsWith("Optional")) return "optional types";
            if (STRINGS.contains(op)) return "strings";
            if (RANDOM.contains(op))
                return n.getAttributeList().stream().noneMatch(a -> a.getName().equals("seed")) ? "random op without a seed"
                        : "random op (the expected values come from the reference's own generator)";
            if (op.equals("Dropout") && n.getInputCount() > 2 && !n.getInput(2).isEmpty())
                return "training mode (random dropout mask)";
            if (op.equals("BatchNormalization") && n.getAttributeList().stream()
                    .anyMatch(a -> a.getName().equals("training_mode") && a.getI() != 0))
                return "training mode (batch statistics)";
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasT() && a.getT().getDataType() == TensorProto.DataType.STRING_VALUE) return "strings";
                if (a.hasG()) {
                    String r = reason(a.getG());
                    if (r != null) return r;
                }
                for (GraphProto sub : a.getGraphsList()) {
                    String r = reason(sub);
                    if (r != null) return r;
                }
            }
        }
        return null;
    }

    private static String typeReason(TypeProto t) {
        if (t.hasSequenceType()) return "sequences";
        if (t.hasOptionalType()) return "optional types";
        if (t.hasMapType()) return "maps";
        if (t.hasTensorType() && t.getTensorType().getElemType() == TensorProto.DataType.STRING_VALUE) return "strings";
        return null;
    }
}
