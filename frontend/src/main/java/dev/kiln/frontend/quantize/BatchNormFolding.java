package dev.kiln.frontend.quantize;

import dev.kiln.frontend.OnnxReader;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.frontend.onnx.OnnxProto.AttributeProto;
import dev.kiln.frontend.onnx.OnnxProto.GraphProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.NodeProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds each inference BatchNormalization that alone reads a float32 Conv's output into that conv's
 * weights and bias ({@code f = scale / sqrt(var + eps)} per channel, {@code W' = W f},
 * {@code b' = (b - mean) f + beta}, in double), before quantization: the int8 weights are then the
 * ones the conv really multiplies by, and no float op is left between the conv and what follows.
 */
public final class BatchNormFolding {
    private BatchNormFolding() {}

    /** The model with the BNs folded, and how many. */
    public record Result(ModelProto model, int folded) {}

    public static Result run(ModelProto m, String modelName, Path baseDir) {
        GraphProto g = m.getGraph();
        Map<String, TensorProto> inits = new LinkedHashMap<>();
        for (TensorProto t : g.getInitializerList()) inits.put(t.getName(), t);
        Map<String, Integer> readers = new HashMap<>();
        for (NodeProto n : g.getNodeList()) for (String in : n.getInputList()) readers.merge(in, 1, Integer::sum);
        Set<String> outputs = new HashSet<>();
        g.getOutputList().forEach(v -> outputs.add(v.getName()));
        Map<String, NodeProto> producer = new HashMap<>();
        for (NodeProto n : g.getNodeList()) for (String o : n.getOutputList()) producer.put(o, n);

        Map<NodeProto, NodeProto> replaced = new HashMap<>();
        Set<NodeProto> dropped = new HashSet<>();
        List<TensorProto> added = new ArrayList<>();
        for (NodeProto bn : g.getNodeList()) {
            if (!bn.getOpType().equals("BatchNormalization") || !bn.getDomain().isEmpty() || bn.getOutputCount() != 1
                    || bn.getInputCount() != 5 || intAttr(bn, "training_mode") != 0) continue;
            NodeProto conv = producer.get(bn.getInput(0));
            if (conv == null || !conv.getOpType().equals("Conv") || replaced.containsKey(conv) || readers.getOrDefault(bn.getInput(0), 0) != 1
                    || outputs.contains(bn.getInput(0)) || conv.getInputCount() < 2) continue;
            TensorProto w = inits.get(conv.getInput(1)), b = conv.getInputCount() > 2 && !conv.getInput(2).isEmpty() ? inits.get(conv.getInput(2)) : null;
            if (w == null || w.getDataType() != DType.FLOAT32.onnxCode || w.getDimsCount() < 3 || (b == null && conv.getInputCount() > 2 && !conv.getInput(2).isEmpty()))
                continue;
            Tensor[] p = new Tensor[4];
            boolean ok = true;
            for (int i = 0; i < 4 && ok; i++) {
                TensorProto t = inits.get(bn.getInput(i + 1));
                ok = t != null && t.getDataType() == DType.FLOAT32.onnxCode;
                if (ok) p[i] = OnnxReader.tensor(t, modelName, baseDir);
            }
            int channels = (int) w.getDims(0);
            for (int i = 0; ok && i < 4; i++) ok = p[i].size() == channels;
            if (!ok) continue;
            double eps = floatAttr(bn, "epsilon", 1e-5f);
            Tensor wt = OnnxReader.tensor(w, modelName, baseDir), bt = b == null ? null : OnnxReader.tensor(b, modelName, baseDir);
            float[] wv = wt.floats(), w2 = new float[wv.length], b2 = new float[channels];
            int per = wv.length / channels;
            for (int c = 0; c < channels; c++) {
                double f = p[0].getDouble(c) / Math.sqrt(p[3].getDouble(c) + eps);
                for (int i = c * per; i < (c + 1) * per; i++) w2[i] = (float) (wv[i] * f);
                b2[c] = (float) (((bt == null ? 0 : bt.getDouble(c)) - p[2].getDouble(c)) * f + p[1].getDouble(c));
            }
            String wName = unique(inits, conv.getInput(1) + "_bn_folded"), bName = unique(inits, bn.getOutput(0) + "_bias");
            TensorProto wp = OnnxWriter.tensor(wName, Tensor.ofFloats(wt.shape(), w2)), bp = OnnxWriter.tensor(bName, Tensor.ofFloats(new Shape(channels), b2));
            inits.put(wName, wp);
            inits.put(bName, bp);
            added.add(wp);
            added.add(bp);
            NodeProto.Builder nc = conv.toBuilder().clearInput().addInput(conv.getInput(0)).addInput(wName).addInput(bName)
                    .clearOutput().addOutput(bn.getOutput(0));
            replaced.put(conv, nc.build());
            dropped.add(bn);
        }
        if (replaced.isEmpty()) return new Result(m, 0);
        GraphProto.Builder out = g.toBuilder().clearNode();
        for (NodeProto n : g.getNodeList()) {
            if (dropped.contains(n)) continue;
            out.addNode(replaced.getOrDefault(n, n));
        }
        out.addAllInitializer(added);
        QdqRewriter.withoutUnread(out);
        return new Result(m.toBuilder().setGraph(out).build(), replaced.size());
    }

    private static String unique(Map<String, TensorProto> inits, String base) {
        String n = base;
        for (int i = 1; inits.containsKey(n); i++) n = base + "_" + i;
        return n;
    }

    private static long intAttr(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) if (a.getName().equals(name)) return a.getI();
        return 0;
    }

    private static double floatAttr(NodeProto n, String name, float dflt) {
        for (AttributeProto a : n.getAttributeList()) if (a.getName().equals(name)) return a.getF();
        return dflt;
    }
}
