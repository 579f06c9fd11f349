package dev.kiln.driver;

import dev.kiln.frontend.Npy;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The inputs {@code kiln quantize} calibrates on: {@code random:N} (N seeded random samples, floats
 * uniform in [-1, 1), integers in [0, 10), as {@code kiln run}), or a directory of .npy files named
 * after the model's inputs (as {@code kiln run --output-dir} names them): the directory itself holds one
 * sample, or each of its subdirectories holds one.
 */
final class CalibrationData {
    private CalibrationData() {}

    static List<Map<String, Tensor>> load(String spec, List<Value> inputs, long seed) {
        if (spec.startsWith("random:")) {
            int n;
            try {
                n = Integer.parseInt(spec.substring("random:".length()).strip());
            } catch (NumberFormatException e) {
                throw new KilnException("--calibrate " + spec + ": expected random:N with N a number of samples, e.g. random:32");
            }
            if (n < 1 || n > 100_000) throw new KilnException("--calibrate " + spec + ": the number of samples must be 1 to 100000");
            List<Map<String, Tensor>> r = new ArrayList<>();
            for (int k = 0; k < n; k++) r.add(random(inputs, seed + k));
            return r;
        }
        Path dir = Path.of(spec);
        if (!Files.isDirectory(dir))
            throw new KilnException("--calibrate " + spec + ": no such directory; give a directory of .npy files named after the model's inputs "
                    + "(" + expected(inputs) + "), or random:N");
        if (holdsSample(dir, inputs)) return List.of(sample(dir, inputs));
        List<Path> subdirs;
        try (Stream<Path> s = Files.list(dir)) {
            subdirs = s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new KilnException("--calibrate " + spec + ": cannot list the directory: " + e.getMessage());
        }
        List<Map<String, Tensor>> r = new ArrayList<>();
        for (Path d : subdirs) if (holdsSample(d, inputs)) r.add(sample(d, inputs));
        if (r.isEmpty())
            throw new KilnException("--calibrate " + spec + ": found no sample: expected " + expected(inputs)
                    + " in the directory itself (one sample) or in each of its subdirectories (one sample each)");
        return r;
    }

    private static Map<String, Tensor> random(List<Value> inputs, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, Tensor> r = new LinkedHashMap<>();
        for (Value in : inputs) r.put(in.name(), KilnLibrary.random(in.dtype(), in.shape(), rnd));
        return r;
    }

    private static boolean holdsSample(Path dir, List<Value> inputs) {
        return inputs.stream().allMatch(v -> Files.isRegularFile(dir.resolve(Npy.fileName(v.name()))));
    }

    private static Map<String, Tensor> sample(Path dir, List<Value> inputs) {
        Map<String, Tensor> r = new LinkedHashMap<>();
        for (Value in : inputs) {
            Path f = dir.resolve(Npy.fileName(in.name()));
            Tensor t = Npy.read(f);
            if (t.dtype() != in.dtype() || !t.shape().equals(in.shape()))
                throw new KilnException("calibration file " + f + " holds " + t.dtype().numpyName + t.shape() + " but input '" + in.name()
                        + "' is " + in.dtype().numpyName + in.shape() + (in.shape().equals(t.shape()) ? "" : " (bind dynamic dimensions with --input-shape)"));
            r.put(in.name(), t);
        }
        return r;
    }

    private static String expected(List<Value> inputs) {
        return String.join(", ", inputs.stream().map(v -> Npy.fileName(v.name())).toList());
    }
}
