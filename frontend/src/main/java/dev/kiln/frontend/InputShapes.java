package dev.kiln.frontend;

import dev.kiln.frontend.onnx.OnnxProto.TensorShapeProto;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Binds the declared shape of a graph input (which may have dynamic dimensions such as a
 * symbolic batch size) to the static shape Kiln compiles for, using the user's
 * {@code --input-shape NAME=d0,d1,...} values. Kiln compiles for one static shape, so every
 * dynamic dimension must be bound, and a given shape must agree with the static dimensions.
 */
final class InputShapes {
    private InputShapes() {}

    /**
     * The static shape of input {@code name}.
     *
     * @param declared the input's declared shape, or null when the model declares none (unknown rank)
     * @param given    the user's shape for it, or null
     */
    static Shape bind(String model, String name, TensorShapeProto declared, long[] given) {
        if (declared == null) {
            if (given == null)
                throw new KilnException("input '" + name + "' has no declared shape in model " + model
                        + "; bind it with --input-shape " + name + "=d0,d1,... (the dimensions it is fed with)");
            return checked(model, name, given);
        }
        List<TensorShapeProto.Dimension> dims = declared.getDimList();
        String shown = show(dims);
        if (given != null) {
            if (given.length != dims.size())
                throw new KilnException(flag(name, given) + ": input '" + name + "' of model " + model + " has rank "
                        + dims.size() + " (" + shown + "), but " + given.length + " dimensions were given; give " + dims.size()
                        + ", e.g. --input-shape " + name + "=" + example(dims));
            for (int i = 0; i < dims.size(); i++) {
                if (isStatic(dims.get(i)) && dims.get(i).getDimValue() != given[i])
                    throw new KilnException(flag(name, given) + ": input '" + name + "' of model " + model + " has shape "
                            + shown + ", whose dim " + i + " is fixed at " + dims.get(i).getDimValue() + " but " + given[i]
                            + " was given; only dynamic dimensions can be chosen, e.g. --input-shape " + name + "=" + example(dims));
            }
            return checked(model, name, given);
        }
        long[] r = new long[dims.size()];
        for (int i = 0; i < dims.size(); i++) {
            TensorShapeProto.Dimension d = dims.get(i);
            if (!isStatic(d))
                throw new KilnException("input '" + name + "' has dynamic dimension " + dimName(d) + " (dim " + i + ") in model "
                        + model + " (shape " + shown + "); Kiln compiles for static shapes, so bind it with --input-shape "
                        + name + "=" + example(dims));
            r[i] = d.getDimValue();
        }
        return Shape.of(r);
    }

    /** Whether every dimension of a declared shape is a known positive size. */
    static boolean isStatic(TensorShapeProto shape) {
        for (TensorShapeProto.Dimension d : shape.getDimList()) if (!isStatic(d)) return false;
        return true;
    }

    /**
     * A dim_value of 0 is static: ONNX allows empty tensors (the backend tests have inputs of
     * shape [3,0,5]). A missing value, a dim_param or a negative value is dynamic.
     */
    static boolean isStatic(TensorShapeProto.Dimension d) {
        return d.hasDimValue() && d.getDimValue() >= 0;
    }

    static long[] staticDims(TensorShapeProto shape) {
        return shape.getDimList().stream().mapToLong(TensorShapeProto.Dimension::getDimValue).toArray();
    }

    /** Declared shape as the user would read it: {@code [N,3,224,224]}, "?" for an unnamed dynamic dim. */
    static String show(List<TensorShapeProto.Dimension> dims) {
        List<String> parts = new ArrayList<>();
        for (TensorShapeProto.Dimension d : dims) parts.add(isStatic(d) ? Long.toString(d.getDimValue()) : d.hasDimParam() ? d.getDimParam() : "?");
        return "[" + String.join(",", parts) + "]";
    }

    private static Shape checked(String model, String name, long[] given) {
        for (long d : given) {
            if (d <= 0 || d > Integer.MAX_VALUE)
                throw new KilnException(flag(name, given) + ": dimension " + d + " for input '" + name + "' of model " + model
                        + " is out of range; every dimension must be a positive integer");
        }
        return Shape.of(given);
    }

    private static String dimName(TensorShapeProto.Dimension d) {
        return d.hasDimParam() && !d.getDimParam().isEmpty() ? "'" + d.getDimParam() + "'" : "of unknown size";
    }

    /** A binding the user could type: static dims as declared, 1 for each dynamic one. */
    private static String example(List<TensorShapeProto.Dimension> dims) {
        List<String> parts = new ArrayList<>();
        for (TensorShapeProto.Dimension d : dims) parts.add(isStatic(d) ? Long.toString(d.getDimValue()) : "1");
        return String.join(",", parts);
    }

    private static String flag(String name, long[] given) {
        if (given == null) return "--input-shape " + name;
        String dims = Arrays.toString(given).replace(" ", "");
        return "--input-shape " + name + "=" + dims.substring(1, dims.length() - 1);
    }

    /** Checks that every name the user bound is a real graph input. */
    static void checkNamesExist(String model, Map<String, long[]> given, List<String> inputs) {
        for (String n : given.keySet()) {
            if (!inputs.contains(n))
                throw new KilnException(flag(n, given.get(n)) + ": model " + model + " has no input named '" + n
                        + "'; its inputs are " + (inputs.isEmpty() ? "(none)" : String.join(", ", inputs)));
        }
    }
}
