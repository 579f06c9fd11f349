import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Value;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes the GPU check's matmul model: one MatMul Y[M,N] = A[M,K] x B[K,N] of two float32 graph
 * inputs, at opset 17, as `kiln bench --op` builds its one-node models (but with B an input, so
 * the model carries no weights). Run by scripts/gpu-check-prepare with the source launcher:
 * java -cp 'driver/target/lib/*' scripts/GpuCheckMatmul.java OUT.onnx M N K
 */
public class GpuCheckMatmul {
    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: GpuCheckMatmul OUT.onnx M N K");
            System.exit(2);
        }
        long m = Long.parseLong(args[1]), n = Long.parseLong(args[2]), k = Long.parseLong(args[3]);
        Graph g = new Graph("matmul" + m + "x" + n + "x" + k);
        g.opsets().put("", 17);
        for (Value v : List.of(new Value("A", DType.FLOAT32, Shape.of(m, k)), new Value("B", DType.FLOAT32, Shape.of(k, n)))) {
            g.inputs().add(v);
            g.values().put(v.name(), v);
        }
        g.nodes().add(new Node("matmul", "MatMul", "", List.of("A", "B"), List.of("Y"), Map.of(), 17));
        g.outputs().add("Y");
        g.values().put("Y", new Value("Y", DType.FLOAT32, Shape.of(m, n)));
        OnnxWriter.write(g, Path.of(args[0]));
        System.out.println("wrote " + args[0] + " (MatMul " + m + "x" + k + " by " + k + "x" + n + ", both inputs)");
    }
}
