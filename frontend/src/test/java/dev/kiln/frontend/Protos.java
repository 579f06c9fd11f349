package dev.kiln.frontend;

import com.google.protobuf.ByteString;
import dev.kiln.frontend.onnx.OnnxProto.AttributeProto;
import dev.kiln.frontend.onnx.OnnxProto.GraphProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.NodeProto;
import dev.kiln.frontend.onnx.OnnxProto.OperatorSetIdProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorShapeProto;
import dev.kiln.frontend.onnx.OnnxProto.TypeProto;
import dev.kiln.frontend.onnx.OnnxProto.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Hand-built ONNX protos for reader tests, written without OnnxWriter so the two check each other. */
final class Protos {
    private Protos() {}

    /** A dimension: a Long is a dim_value, a String a dim_param, null an empty dimension. */
    static ValueInfoProto tensorInfo(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder b = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number n) b.setDimValue(n.longValue());
            else if (d instanceof String s) b.setDimParam(s);
            shape.addDim(b);
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
                .build();
    }

    static NodeProto node(String name, String op, String[] inputs, String[] outputs, AttributeProto... attrs) {
        NodeProto.Builder b = NodeProto.newBuilder().setName(name).setOpType(op);
        for (String i : inputs) b.addInput(i);
        for (String o : outputs) b.addOutput(o);
        for (AttributeProto a : attrs) b.addAttribute(a);
        return b.build();
    }

    static TensorProto floatTensor(String name, long[] dims, float... values) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(1);
        for (long d : dims) b.addDims(d);
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) buf.putFloat(v);
        return b.setRawData(ByteString.copyFrom(buf.array())).build();
    }

    /** x (float [1,4]) -> Relu -> Add(w) -> y, with w an initializer; the caller edits the returned builder. */
    static ModelProto.Builder reluAddModel() {
        GraphProto g = GraphProto.newBuilder()
                .setName("tiny")
                .addNode(node("relu", "Relu", new String[] {"x"}, new String[] {"r"}))
                .addNode(node("add", "Add", new String[] {"r", "w"}, new String[] {"y"}))
                .addInitializer(floatTensor("w", new long[] {1, 4}, 1f, 2f, 3f, 4f))
                .addInput(tensorInfo("x", 1, 1L, 4L))
                .addOutput(tensorInfo("y", 1, 1L, 4L))
                .build();
        return model(g, 13);
    }

    static ModelProto.Builder model(GraphProto g, int opset) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setGraph(g);
    }
}
