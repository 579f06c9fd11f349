package dev.kiln.frontend;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads and writes numpy .npy files (format 1.0/2.0/3.0, little-endian, C order). */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    public static Tensor read(Path file) {
        byte[] b;
        try {
            b = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new KilnException("cannot read " + file + ": " + e.getMessage());
        }
        if (b.length < 10 || !Arrays.equals(Arrays.copyOf(b, 6), MAGIC))
            throw new KilnException(file + " is not a .npy file (bad magic); save arrays with numpy.save");
        int major = b[6];
        int headerLen;
        int start;
        if (major == 1) {
            headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
            start = 10;
        } else {
            headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8 | (b[10] & 0xff) << 16 | (b[11] & 0xff) << 24;
            start = 12;
        }
        if (start + headerLen > b.length) throw new KilnException(file + ": truncated .npy header");
        String header = new String(b, start, headerLen, StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) throw new KilnException(file + ": malformed .npy header: " + header.strip());
        if (f.group(1).equals("True")) throw new KilnException(file + ": Fortran-order arrays are not supported; save a C-contiguous array");
        DType dtype = dtypeOf(d.group(1), file);
        long[] dims = Arrays.stream(s.group(1).split(",")).map(String::strip).filter(x -> !x.isEmpty()).mapToLong(Long::parseLong).toArray();
        Shape shape = Shape.of(dims);
        int dataStart = start + headerLen;
        long need = shape.numel() * dtype.byteSize;
        if (b.length - dataStart != need)
            throw new KilnException(file + ": holds " + (b.length - dataStart) + " data bytes but " + dtype.numpyName + shape + " needs " + need);
        return Tensor.fromBytes(dtype, shape, Arrays.copyOfRange(b, dataStart, b.length));
    }

    /** Writes atomically (temp file + rename). */
    /**
     * The file a tensor named {@code name} is written to in an output directory, by {@code kiln run}
     * and by compiled programs (kiln_main.c keeps the same rule): every character outside
     * [A-Za-z0-9_.-] becomes '_', and a name left empty, "." or ".." becomes "output".
     */
    public static String fileName(String name) {
        String s = name.replaceAll("[^A-Za-z0-9_.-]", "_");
        return (s.isEmpty() || s.equals(".") || s.equals("..") ? "output" : s) + ".npy";
    }

    /** Writes t as .npy; bfloat16, which numpy has no type of its own for, as its 2-byte patterns ('<V2', as ml_dtypes). */
    public static void write(Path file, Tensor t) {
        StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < t.shape().rank(); i++) shape.append(t.shape().dim(i)).append(t.shape().rank() == 1 ? "," : i + 1 < t.shape().rank() ? ", " : "");
        shape.append(')');
        String dict = "{'descr': '" + descrOf(t.dtype()) + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        byte[] data = t.toBytes();
        byte[] out = new byte[10 + h.length + data.length];
        System.arraycopy(MAGIC, 0, out, 0, 6);
        out[6] = 1;
        out[7] = 0;
        out[8] = (byte) (h.length & 0xff);
        out[9] = (byte) (h.length >> 8);
        System.arraycopy(h, 0, out, 10, h.length);
        System.arraycopy(data, 0, out, 10 + h.length, data.length);
        AtomicFiles.write(file, out);
    }

    private static DType dtypeOf(String descr, Path file) {
        if (descr.length() < 2) throw new KilnException(file + ": unknown dtype '" + descr + "'");
        char order = descr.charAt(0);
        if (order == '>') throw new KilnException(file + ": big-endian arrays are not supported; convert with arr.astype('<" + descr.substring(1) + "')");
        return switch (descr.substring(1)) {
            case "f4" -> DType.FLOAT32;
            case "f8" -> DType.FLOAT64;
            case "f2" -> DType.FLOAT16;
            case "i1" -> DType.INT8;
            case "i2" -> DType.INT16;
            case "i4" -> DType.INT32;
            case "i8" -> DType.INT64;
            case "u1" -> DType.UINT8;
            case "u2" -> DType.UINT16;
            case "u4" -> DType.UINT32;
            case "u8" -> DType.UINT64;
            case "b1" -> DType.BOOL;
            case "V2" -> DType.BFLOAT16;
            default -> throw new KilnException(file + ": unsupported dtype '" + descr + "'");
        };
    }

    private static String descrOf(DType t) {
        return switch (t) {
            case FLOAT32 -> "<f4";
            case FLOAT64 -> "<f8";
            case FLOAT16 -> "<f2";
            case INT8 -> "|i1";
            case INT16 -> "<i2";
            case INT32 -> "<i4";
            case INT64 -> "<i8";
            case UINT8 -> "|u1";
            case UINT16 -> "<u2";
            case UINT32 -> "<u4";
            case UINT64 -> "<u8";
            case BOOL -> "|b1";
            case BFLOAT16 -> "<V2";
        };
    }


}
