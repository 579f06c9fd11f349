package dev.kiln.driver;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.targets.TargetException;
import dev.kiln.targets.cpu.NativeModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** A compiled Kiln library loaded in this process, run on {@link Tensor}s. */
public final class KilnLibrary implements AutoCloseable {
    private final NativeModel model;
    private final NativeModel.Session session;
    private final Arena arena = Arena.ofShared();
    private MemorySegment[] inputs;
    private final MemorySegment[] outputs;

    public KilnLibrary(Path so, int threads) {
        try {
            model = NativeModel.load(so);
            session = model.createSession(threads);
        } catch (TargetException e) {
            throw new KilnException(e.getMessage(), e);
        }
        outputs = model.outputs().stream().map(o -> arena.allocate(Math.max(1, o.bytes()), 64)).toArray(MemorySegment[]::new);
    }

    public List<NativeModel.TensorInfo> inputInfo() {
        return model.inputs();
    }

    public List<NativeModel.TensorInfo> outputInfo() {
        return model.outputs();
    }

    /** Random inputs matching the metadata: floats uniform in [-1, 1), integers in [0, 10). */
    public Map<String, Tensor> randomInputs(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, Tensor> r = new LinkedHashMap<>();
        for (NativeModel.TensorInfo in : model.inputs()) {
            r.put(in.name(), random(DType.fromNumpy(in.dtype()), Shape.of(in.shape()), rnd));
        }
        return r;
    }

    /** A random tensor as {@link #randomInputs} makes them: floats uniform in [-1, 1), integers in [0, 10). */
    static Tensor random(DType dt, Shape shape, SplittableRandom rnd) {
        return Tensor.generate(dt, shape, i -> dt.isFloat() ? rnd.nextDouble(-1, 1) : dt == DType.BOOL ? rnd.nextInt(2) : rnd.nextInt(10));
    }

    /** Copies inputs into native memory once, so that {@link #runPrepared} times the model alone. */
    public void prepare(Map<String, Tensor> values) {
        List<NativeModel.TensorInfo> infos = model.inputs();
        MemorySegment[] segs = new MemorySegment[infos.size()];
        for (int i = 0; i < infos.size(); i++) {
            NativeModel.TensorInfo info = infos.get(i);
            Tensor t = values.get(info.name());
            if (t == null) throw new KilnException("no value given for input '" + info.name() + "' (" + info + ")");
            if (!t.dtype().numpyName.equals(info.dtype()) || !t.shape().equals(Shape.of(info.shape())))
                throw new KilnException("input '" + info.name() + "' is " + t.dtype().numpyName + t.shape() + " but the library expects " + info);
            byte[] bytes = t.toBytes();
            segs[i] = arena.allocate(Math.max(1, bytes.length), 64);
            MemorySegment.copy(bytes, 0, segs[i], ValueLayout.JAVA_BYTE, 0, bytes.length);
        }
        for (String name : values.keySet()) {
            if (infos.stream().noneMatch(x -> x.name().equals(name)))
                throw new KilnException("the library has no input named '" + name + "'; its inputs: " + infos);
        }
        inputs = segs;
    }

    public void runPrepared() {
        try {
            session.run(inputs, outputs);
        } catch (TargetException e) {
            throw new KilnException(e.getMessage(), e);
        }
    }

    /** {@code kiln_model_profile_info()}'s JSON; empty for a library built before Kiln could profile. */
    public java.util.Optional<String> profileInfo() {
        return model.profileInfoJson();
    }

    /** Whether the library runs on a GPU (its kernels' times include waiting for the device). */
    public boolean onDevice() {
        return model.hasDeviceClock();
    }

    /** As {@link #runPrepared}, through {@code kiln_model_run_profiled}: each of the {@code calls} kernel calls' start and end, in ns. */
    public long[] runPreparedProfiled(int calls) {
        try {
            return session.runProfiled(inputs, outputs, calls);
        } catch (TargetException e) {
            throw new KilnException(e.getMessage(), e);
        }
    }

    /**
     * The outputs of the last run, by name. An output whose length the data decides comes at
     * its actual shape, read from its companion shape output, which is not listed itself.
     */
    public Map<String, Tensor> outputs() {
        Map<String, Tensor> r = new LinkedHashMap<>();
        List<NativeModel.TensorInfo> infos = model.outputs();
        Map<String, Integer> index = new java.util.HashMap<>();
        for (int i = 0; i < infos.size(); i++) index.put(infos.get(i).name(), i);
        java.util.Set<String> companions = new java.util.HashSet<>();
        for (NativeModel.TensorInfo info : infos) if (!info.shapeOutput().isEmpty()) companions.add(info.shapeOutput());
        for (int i = 0; i < infos.size(); i++) {
            NativeModel.TensorInfo info = infos.get(i);
            if (companions.contains(info.name())) continue;
            long[] shape = info.shapeOutput().isEmpty() ? info.shape() : actualShape(info, index.get(info.shapeOutput()));
            long bytes = Shape.of(shape).numel() * NativeModel.elementBytes(info.dtype());
            byte[] data = outputs[i].asSlice(0, bytes).toArray(ValueLayout.JAVA_BYTE);
            r.put(info.name(), Tensor.fromBytes(DType.fromNumpy(info.dtype()), Shape.of(shape), data));
        }
        return r;
    }

    /** The shape the library wrote for a bounded output, checked against its bound. */
    private long[] actualShape(NativeModel.TensorInfo info, Integer companion) {
        if (companion == null)
            throw new KilnException("library " + model.path() + " names '" + info.shapeOutput() + "' as the shape of output '"
                    + info.name() + "' but has no such output");
        long[] shape = outputs[companion].asSlice(0, 8L * info.shape().length).toArray(ValueLayout.JAVA_LONG);
        for (int d = 0; d < shape.length; d++)
            if (shape[d] < 0 || shape[d] > info.shape()[d])
                throw new KilnException("library " + model.path() + " reports output '" + info.name() + "' as " + Arrays.toString(shape)
                        + ", outside its bound " + Arrays.toString(info.shape()));
        return shape;
    }

    public Map<String, Tensor> run(Map<String, Tensor> values) {
        prepare(values);
        runPrepared();
        return outputs();
    }

    @Override
    public void close() {
        session.close();
        model.close();
        arena.close();
    }
}
