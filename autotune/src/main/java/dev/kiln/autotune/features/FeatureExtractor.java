package dev.kiln.autotune.features;

import dev.kiln.autotune.features.LoopNest.Access;
import dev.kiln.autotune.features.LoopNest.Frame;
import dev.kiln.autotune.features.LoopNest.Op;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knob;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A fixed-length feature vector of a scheduled kernel for the cost model, in the spirit of
 * AutoTVM's itervar and curve features. The loops described are the innermost {@link #LOOPS} of
 * the nest doing most of the arithmetic (the "main nest"), innermost first, so slot 0 is always
 * the innermost loop whatever the depth. Counts are weighted by how often they run and
 * log-transformed ({@code log2(1 + x)}). Works on any IR; pass the function after
 * {@code LoweringPipeline.run} so vectorized loops show as vector code. A loop extent that is not
 * a constant counts as 1 and is flagged ({@code nonconst_extents}).
 */
public final class FeatureExtractor {
    private FeatureExtractor() {}

    /** Loops of the main nest described, innermost first (shallower nests are padded with zeros). */
    public static final int LOOPS = 6;
    /** Buffers described, those the main nest touches most bytes of first. */
    public static final int BUFFERS = 3;

    private static final String[] LOOP_FIELDS = {"log2_extent", "serial", "parallel", "vectorized", "unrolled", "gpu", "depth"};
    private static final String[] GLOBAL_FIELDS = {"log2_total_iterations", "log2_main_iterations", "log2_outer_iterations",
            "log2_parallel_iterations", "log2_max_lanes", "vector_float_share", "loops", "main_depth", "nonconst_extents",
            "log2_guard_runs", "log2_allocated_bytes"};
    /** A gather or scatter (vector index that is not a ramp) counts as this stride. */
    private static final long GATHER_STRIDE = 1 << 16;

    private static final List<String> NAMES = names();

    /** The length of {@link #features(PrimFunc)}. */
    public static int length() {
        return NAMES.size();
    }

    /** The length of {@link #features(PrimFunc, ConfigSpace, Config)}. */
    public static int length(ConfigSpace space) {
        return NAMES.size() + space.knobs().size();
    }

    /** A name per feature of {@link #features(PrimFunc)}, for debugging and importance reports. */
    public static List<String> featureNames() {
        return NAMES;
    }

    /** A name per feature of {@link #features(PrimFunc, ConfigSpace, Config)}. */
    public static List<String> featureNames(ConfigSpace space) {
        List<String> out = new ArrayList<>(NAMES);
        out.addAll(knobFeatureNames(space));
        return out;
    }

    public static List<String> knobFeatureNames(ConfigSpace space) {
        return space.knobs().stream().map(k -> "knob." + k.name()).toList();
    }

    /**
     * The knob values: {@code sign(v) * log2(1 + |v|)} of a numeric knob, the value's index of a
     * categorical one. Usable alone as the features of a config when lowering is not wanted.
     */
    public static double[] knobFeatures(ConfigSpace space, Config config) {
        double[] out = new double[space.knobs().size()];
        for (int i = 0; i < out.length; i++) {
            Knob k = space.knobs().get(i);
            long v = config.get(k.name());
            out[i] = k.labels().isEmpty() ? Math.signum(v) * log2p(Math.abs((double) v)) : k.indexOf(v);
        }
        return out;
    }

    /** The kernel's features followed by the config's {@link #knobFeatures}. */
    public static double[] features(PrimFunc f, ConfigSpace space, Config config) {
        double[] a = features(f), b = knobFeatures(space, config);
        double[] out = new double[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    public static double[] features(PrimFunc f) {
        LoopNest nest = LoopNest.of(f);
        Frame main = nest.main();
        List<Frame> path = main.path();
        List<Frame> inner = new ArrayList<>(); // innermost first
        for (int i = path.size() - 1; i >= 0 && inner.size() < LOOPS; i--) inner.add(path.get(i));

        double[] out = new double[NAMES.size()];
        int p = 0;
        for (int s = 0; s < LOOPS; s++, p += LOOP_FIELDS.length) {
            if (s >= inner.size()) continue;
            Frame l = inner.get(s);
            ForKind kind = l.kind();
            out[p] = log2(Math.max(1, l.extent));
            out[p + 1] = kind == ForKind.SERIAL ? 1 : 0;
            out[p + 2] = kind == ForKind.PARALLEL ? 1 : 0;
            out[p + 3] = kind == ForKind.VECTORIZED ? 1 : 0;
            out[p + 4] = kind == ForKind.UNROLLED ? 1 : 0;
            out[p + 5] = kind.isGpu() ? 1 : 0;
            out[p + 6] = l.depth;
        }
        for (Op op : Op.values()) out[p++] = log2p(nest.ops[op.ordinal()]);

        List<BufferUse> uses = bufferUses(main, inner);
        for (int b = 0; b < BUFFERS; b++, p += 4 + LOOPS) {
            if (b >= uses.size()) continue;
            BufferUse u = uses.get(b);
            out[p] = log2p(u.innerStride);
            out[p + 1] = log2p(u.touched() * u.buffer.dtype().bytes());
            out[p + 2] = log2p(u.accesses / Math.max(1, u.touched()));
            out[p + 3] = log2p(u.accesses);
            for (int lv = 0; lv < LOOPS; lv++) out[p + 4 + lv] = log2p(u.curve[lv] * u.buffer.dtype().bytes());
        }

        double total = 0, parallel = 1;
        for (Frame fr : nest.frames) if (fr.loop != null) total += fr.trips;
        for (Frame fr : path) if (fr.kind() == ForKind.PARALLEL || fr.kind().isGpu()) parallel *= fr.extent;
        double innerTrips = 1;
        for (Frame fr : inner) innerTrips *= fr.extent;
        out[p++] = log2p(total);
        out[p++] = log2p(main.trips);
        out[p++] = log2p(main.trips / Math.max(1, innerTrips));
        out[p++] = log2p(parallel);
        out[p++] = log2(nest.maxLanes);
        out[p++] = nest.floatElements == 0 ? 0 : nest.vectorFloatElements / nest.floatElements;
        out[p++] = nest.loops;
        out[p++] = path.size();
        out[p++] = nest.nonConstantExtents;
        out[p++] = log2p(nest.guardRuns);
        out[p++] = log2p(nest.allocatedBytes);
        for (int i = 0; i < out.length; i++) if (!Double.isFinite(out[i])) out[i] = 0;
        return out;
    }

    /** How the main nest uses one buffer. {@code curve[l]}: elements touched under the innermost l+1 loops. */
    private static final class BufferUse {
        final Buffer buffer;
        double innerStride;
        double representativeTouched = -1;
        double accesses;
        final double[] curve = new double[LOOPS];

        BufferUse(Buffer buffer) {
            this.buffer = buffer;
        }

        double touched() {
            return curve[LOOPS - 1];
        }
    }

    private static List<BufferUse> bufferUses(Frame main, List<Frame> inner) {
        Map<String, BufferUse> byName = new LinkedHashMap<>();
        for (Access a : main.accesses) {
            BufferUse u = byName.computeIfAbsent(a.buffer().name(), n -> new BufferUse(a.buffer()));
            double[] curve = new double[LOOPS];
            double stride = footprint(a, inner, curve);
            double count = 1;
            for (Frame f : inner) count *= f.extent;
            u.accesses += count * a.index().type().lanes();
            if (curve[LOOPS - 1] > u.representativeTouched) { // the access touching most speaks for the buffer
                u.representativeTouched = curve[LOOPS - 1];
                u.innerStride = stride;
            }
            for (int l = 0; l < LOOPS; l++) u.curve[l] = Math.max(u.curve[l], curve[l]);
        }
        List<BufferUse> uses = new ArrayList<>(byName.values());
        uses.sort(Comparator.comparingDouble((BufferUse u) -> -u.touched() * u.buffer.dtype().bytes())
                .thenComparing(u -> u.buffer.name()));
        return uses;
    }

    /**
     * Fills {@code curve} with the elements one access touches under the innermost 1..LOOPS loops
     * (the smaller of the product of the extents it varies with and the span of its addresses,
     * capped by the buffer) and returns its innermost stride: the ramp's for a vector access,
     * else the one along the innermost loop.
     */
    private static double footprint(Access a, List<Frame> inner, double[] curve) {
        Expr index = a.index();
        int lanes = index.type().lanes();
        long base = IndexEval.eval(index, Map.of(), a.lets());
        double vecStride = 0;
        if (index instanceof Expr.Ramp r) vecStride = Math.abs((double) IndexEval.eval(r.stride(), Map.of(), a.lets()));
        else if (lanes > 1 && !(index instanceof Expr.Broadcast)) vecStride = GATHER_STRIDE;
        double product = vecStride == 0 ? 1 : lanes, span = 1 + (lanes - 1) * vecStride;
        double innerStride = lanes > 1 ? vecStride : 0;
        double cap = Math.max(1, a.buffer().size());
        Map<String, Long> env = new HashMap<>();
        for (int l = 0; l < LOOPS; l++) {
            if (l < inner.size()) {
                Frame f = inner.get(l);
                env.put(f.name(), 1L);
                double stride = Math.abs((double) (IndexEval.eval(index, env, a.lets()) - base));
                env.remove(f.name());
                if (l == 0 && lanes == 1) innerStride = stride;
                if (stride != 0) {
                    product *= f.extent;
                    span += (f.extent - 1) * stride;
                }
            }
            curve[l] = Math.min(Math.min(product, span), cap);
        }
        return innerStride;
    }

    private static List<String> names() {
        List<String> n = new ArrayList<>();
        for (int s = 0; s < LOOPS; s++) for (String f : LOOP_FIELDS) n.add("loop" + s + "." + f);
        for (Op op : Op.values()) n.add("log2_" + op.name().toLowerCase());
        for (int b = 0; b < BUFFERS; b++) {
            String pre = "buf" + b + ".";
            n.add(pre + "log2_inner_stride");
            n.add(pre + "log2_touched_bytes");
            n.add(pre + "log2_reuse");
            n.add(pre + "log2_accesses");
            for (int l = 0; l < LOOPS; l++) n.add(pre + "log2_bytes_under_" + (l + 1) + "_loops");
        }
        n.addAll(List.of(GLOBAL_FIELDS));
        return List.copyOf(n);
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }

    private static double log2p(double x) {
        return log2(1 + Math.max(0, x));
    }
}
