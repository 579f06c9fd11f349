package dev.kiln.frontend;

import dev.kiln.frontend.onnx.OnnxProto.StringStringEntryProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

/**
 * Turns a {@link TensorProto} (initializer or tensor attribute) into a {@link Tensor}: raw_data,
 * the typed repeated fields, or external data in a file beside the model. Every error names the
 * model and the tensor, since a model can hold thousands of them.
 */
final class TensorReader {
    private final String model;
    private final Path baseDir;

    /**
     * @param model   how errors name the model (its file name)
     * @param baseDir the model's directory, where external data lives; null when read from memory
     */
    TensorReader(String model, Path baseDir) {
        this.model = model;
        this.baseDir = baseDir;
    }

    /** Reads a tensor; {@code what} names it in errors, e.g. "initializer 'conv1.weight'". */
    Tensor read(TensorProto t, String what) {
        DType dtype = dtype(t.getDataType(), what);
        Shape shape = shape(t, what);
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL)
            return fromBytes(dtype, shape, external(t, dtype, shape, what), what + " (external data)");
        if (t.hasRawData()) return fromBytes(dtype, shape, t.getRawData().toByteArray(), what);
        return fromTypedFields(t, dtype, shape, what);
    }

    private DType dtype(int code, String what) {
        try {
            return DType.fromOnnx(code);
        } catch (KilnException e) {
            throw new KilnException(what + " in model " + model + " has element type " + typeName(code)
                    + ", which Kiln does not support (supported: " + supportedTypes() + "); convert the tensor to a supported type before exporting");
        }
    }

    private Shape shape(TensorProto t, String what) {
        long numel = 1;
        for (long d : t.getDimsList()) {
            if (d < 0 || d > Integer.MAX_VALUE)
                throw new KilnException(what + " in model " + model + " has an invalid dimension " + d + " in its shape " + t.getDimsList());
            numel *= d;
            if (numel > Integer.MAX_VALUE)
                throw new KilnException(what + " in model " + model + " has shape " + t.getDimsList()
                        + " with more than 2^31 elements, which Kiln cannot hold in one tensor");
        }
        return Shape.of(t.getDimsList().stream().mapToLong(Long::longValue).toArray());
    }

    private Tensor fromBytes(DType dtype, Shape shape, byte[] bytes, String what) {
        long need = shape.numel() * dtype.byteSize;
        if (bytes.length != need)
            throw sizeMismatch(what, dtype, shape, bytes.length + " bytes", need + " bytes");
        return Tensor.fromBytes(dtype, shape, bytes);
    }

    /** The typed repeated fields: which field holds the data depends on the element type. */
    private Tensor fromTypedFields(TensorProto t, DType dtype, Shape shape, String what) {
        int n = (int) shape.numel();
        Tensor r = Tensor.zeros(dtype, shape);
        switch (dtype) {
            case FLOAT32 -> {
                check(t.getFloatDataCount(), n, "float_data", what, dtype, shape);
                for (int i = 0; i < n; i++) r.floats()[i] = t.getFloatData(i);
            }
            case FLOAT16 -> {
                // float16 values are stored as their 16-bit patterns in int32_data.
                check(t.getInt32DataCount(), n, "int32_data", what, dtype, shape);
                for (int i = 0; i < n; i++) r.floats()[i] = Float.float16ToFloat((short) t.getInt32Data(i));
            }
            case BFLOAT16 -> {
                // bfloat16 values too.
                check(t.getInt32DataCount(), n, "int32_data", what, dtype, shape);
                for (int i = 0; i < n; i++) r.floats()[i] = DType.fromBfloat16((short) t.getInt32Data(i));
            }
            case INT8, UINT8, INT16, UINT16, INT32, BOOL -> {
                check(t.getInt32DataCount(), n, "int32_data", what, dtype, shape);
                for (int i = 0; i < n; i++) r.setLong(i, t.getInt32Data(i));
            }
            case INT64 -> {
                check(t.getInt64DataCount(), n, "int64_data", what, dtype, shape);
                for (int i = 0; i < n; i++) r.longs()[i] = t.getInt64Data(i);
            }
            case FLOAT64 -> {
                check(t.getDoubleDataCount(), n, "double_data", what, dtype, shape);
                for (int i = 0; i < n; i++) r.doubles()[i] = t.getDoubleData(i);
            }
            case UINT32, UINT64 -> {
                check(t.getUint64DataCount(), n, "uint64_data", what, dtype, shape);
                for (int i = 0; i < n; i++) r.setLong(i, t.getUint64Data(i));
            }
        }
        return r;
    }

    private void check(int have, int need, String field, String what, DType dtype, Shape shape) {
        if (have != need) throw sizeMismatch(what, dtype, shape, have + " values in " + field, need + " values");
    }

    private KilnException sizeMismatch(String what, DType dtype, Shape shape, String have, String need) {
        return new KilnException(what + " in model " + model + " has " + have + " but its type " + dtype.numpyName + shape
                + " needs " + need + "; the model file is corrupt or was written by a broken exporter");
    }

    /** Reads the bytes of an external-data tensor: location, offset and length relative to the model's directory. */
    private byte[] external(TensorProto t, DType dtype, Shape shape, String what) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = parseLong(e.getValue(), "offset", what);
                case "length" -> length = parseLong(e.getValue(), "length", what);
                default -> { } // "checksum" and unknown keys do not change where the bytes are
            }
        }
        if (location == null || location.isEmpty())
            throw new KilnException(what + " in model " + model + " is marked as external data but has no 'location'; the model file is corrupt");
        if (baseDir == null)
            throw new KilnException(what + " in model " + model + " keeps its data in the external file '" + location
                    + "', but the model was read from memory with no directory to find it in; read the model from its file instead");
        Path base = baseDir.toAbsolutePath().normalize();
        Path file = base.resolve(location).normalize();
        if (Path.of(location).isAbsolute() || !file.startsWith(base))
            throw new KilnException(what + " in model " + model + " points to external data file '" + location
                    + "', which is outside the model's directory " + base + "; ONNX external data must be a relative path under the model's directory");
        long need = shape.numel() * dtype.byteSize;
        if (length >= 0 && length != need)
            throw sizeMismatch(what, dtype, shape, length + " bytes of external data (length in '" + location + "')", need + " bytes");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (offset + need > size)
                throw new KilnException(what + " in model " + model + " needs " + need + " bytes at offset " + offset
                        + " of external data file " + file + ", but that file has only " + size
                        + " bytes; the file is truncated or belongs to another version of the model");
            ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(need));
            while (buf.hasRemaining()) {
                if (ch.read(buf, offset + buf.position()) < 0) throw new IOException("unexpected end of file");
            }
            return buf.array();
        } catch (NoSuchFileException e) {
            throw new KilnException(what + " in model " + model + " keeps its data in external file " + file
                    + ", which does not exist; copy the model's data file next to the model (external data is found relative to the model's directory)");
        } catch (IOException e) {
            throw new KilnException("cannot read external data file " + file + " of " + what + " in model " + model + ": " + e.getMessage(), e);
        }
    }

    private long parseLong(String s, String key, String what) {
        try {
            long v = Long.parseLong(s.trim());
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new KilnException(what + " in model " + model + " has external data " + key + " '" + s
                    + "', which is not a non-negative integer; the model file is corrupt");
        }
    }

    static String typeName(int code) {
        TensorProto.DataType t = TensorProto.DataType.forNumber(code);
        return t == null ? "code " + code : t.name();
    }

    static String supportedTypes() {
        List<String> names = Arrays.stream(DType.values()).map(d -> d.numpyName).toList();
        return String.join(", ", names);
    }
}
