package dev.kiln.driver;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** ONNX Runtime on the CPU: the reference for outputs and the speed to beat. */
public final class OrtModel implements AutoCloseable {
    /** Whether ORT's idle workers spin (its default); -Dkiln.ort.spin=false turns it off. */
    private static final boolean SPIN = !"false".equals(System.getProperty("kiln.ort.spin"));
    private final OrtEnvironment env;
    private final OrtSession session;
    private Map<String, OnnxTensor> prepared = Map.of();
    /** Inputs a Kiln library took as constants ({@code --input-value}), fed to ONNX Runtime with every run's inputs. */
    private Map<String, Tensor> fixed = Map.of();

    public OrtModel(byte[] onnx, int threads) {
        this(onnx, threads, true);
    }

    /** With {@code optimize} false, ONNX Runtime runs the graph as written: no constant folding, no fusions. */
    public OrtModel(byte[] onnx, int threads, boolean optimize) {
        try {
            env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
            opts.setOptimizationLevel(optimize ? OrtSession.SessionOptions.OptLevel.ALL_OPT : OrtSession.SessionOptions.OptLevel.NO_OPT);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setIntraOpNumThreads(threads);
            opts.setInterOpNumThreads(1);
            if (!SPIN) opts.addConfigEntry("session.intra_op.allow_spinning", "0");
            session = env.createSession(onnx, opts);
        } catch (OrtException e) {
            throw new KilnException("ONNX Runtime could not load the model: " + e.getMessage());
        }
    }

    /** Runs on the given inputs and returns every output by name. */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        prepare(inputs);
        return runPrepared();
    }

    /** Feeds these inputs with every run's (the values a Kiln library was compiled with by {@code --input-value}). */
    public void fix(Map<String, Tensor> values) {
        fixed = Map.copyOf(values);
    }

    /** Converts inputs once, so that {@link #runPrepared} times the model alone. */
    public void prepare(Map<String, Tensor> inputs) {
        closePrepared();
        Map<String, OnnxTensor> p = new LinkedHashMap<>();
        Map<String, Tensor> all = new LinkedHashMap<>(inputs);
        all.putAll(fixed);
        try {
            for (var e : all.entrySet()) {
                Tensor t = e.getValue();
                ByteBuffer b = ByteBuffer.allocateDirect(t.size() * t.dtype().byteSize).order(ByteOrder.nativeOrder());
                b.put(t.toBytes()).flip();
                p.put(e.getKey(), OnnxTensor.createTensor(env, b, t.shape().longDims(), javaType(t.dtype())));
            }
        } catch (OrtException ex) {
            throw new KilnException("ONNX Runtime rejected an input: " + ex.getMessage());
        }
        prepared = p;
    }

    public Map<String, Tensor> runPrepared() {
        try (OrtSession.Result r = session.run(prepared)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<String, OnnxValue> e : r) {
                OnnxTensor t = (OnnxTensor) e.getValue();
                DType dt = dtypeOf(t.getInfo().type);
                ByteBuffer b = t.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                out.put(e.getKey(), Tensor.fromBytes(dt, Shape.of(t.getInfo().getShape()), bytes));
            }
            return out;
        } catch (OrtException ex) {
            throw new KilnException("ONNX Runtime failed to run the model: " + ex.getMessage());
        }
    }

    public List<String> outputNames() {
        return List.copyOf(session.getOutputNames());
    }

    private static OnnxJavaType javaType(DType t) {
        return switch (t) {
            case FLOAT32 -> OnnxJavaType.FLOAT;
            case FLOAT64 -> OnnxJavaType.DOUBLE;
            case FLOAT16 -> OnnxJavaType.FLOAT16;
            case BFLOAT16 -> OnnxJavaType.BFLOAT16;
            case INT8 -> OnnxJavaType.INT8;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT16 -> OnnxJavaType.INT16;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case BOOL -> OnnxJavaType.BOOL;
            default -> throw new KilnException("ONNX Runtime's Java API has no tensor type for " + t.numpyName);
        };
    }

    private static DType dtypeOf(OnnxJavaType t) {
        return switch (t) {
            case FLOAT -> DType.FLOAT32;
            case DOUBLE -> DType.FLOAT64;
            case FLOAT16 -> DType.FLOAT16;
            case BFLOAT16 -> DType.BFLOAT16;
            case INT8 -> DType.INT8;
            case UINT8 -> DType.UINT8;
            case INT16 -> DType.INT16;
            case INT32 -> DType.INT32;
            case INT64 -> DType.INT64;
            case BOOL -> DType.BOOL;
            default -> throw new KilnException("unsupported ONNX Runtime output type " + t);
        };
    }

    private void closePrepared() {
        prepared.values().forEach(OnnxTensor::close);
        prepared = Map.of();
    }

    @Override
    public void close() {
        closePrepared();
        try {
            session.close();
        } catch (OrtException ignored) {
            // closing is best effort
        }
    }
}
