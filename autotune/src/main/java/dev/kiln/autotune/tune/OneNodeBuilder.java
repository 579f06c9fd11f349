package dev.kiln.autotune.tune;

import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.features.FeatureExtractor;
import dev.kiln.codegen.Backend;
import dev.kiln.codegen.NativeCompiler;
import dev.kiln.codegen.Packaging;
import dev.kiln.codegen.executor.ExecutorLowering;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.lower.LoweringPipeline;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Builds the candidates of one task: the task's kernel alone in a one-node graph (non-constant
 * inputs as graph inputs, constants as initializers, outputs as graph outputs), planned with one
 * config and compiled either into a Kiln model library, which a runner process on a machine of
 * the target loads ({@link #library}), or into a static program for targets this machine cannot
 * load in-process, which a device runtime runs, under an emulator if need be ({@link #program}).
 */
public final class OneNodeBuilder implements CandidateBuilder {
    private final TaskExtractor.Task task;
    private final Target target;
    private final Graph single;
    private final Path dir;
    private final Packaging packaging;
    private final AtomicLong counter = new AtomicLong();

    private OneNodeBuilder(TaskExtractor.Task task, Target target, Path dir, Packaging packaging) {
        this.task = task;
        this.target = target;
        this.single = singleNodeGraph(task.node(), task.graph());
        this.dir = dir;
        this.packaging = packaging;
    }

    /** Candidates as model libraries (.so with the kiln_model_* ABI); {@code dir}: where the temporary files go (each is deleted once read). */
    public static OneNodeBuilder library(TaskExtractor.Task task, Target target, Path dir) {
        return new OneNodeBuilder(task, target, dir, Packaging.LIBRARY);
    }

    /** Candidates as static programs ({@code kiln compile --emit exe --static}), which run under qemu as they are. */
    public static OneNodeBuilder program(TaskExtractor.Task task, Target target, Path dir) {
        return new OneNodeBuilder(task, target, dir, Packaging.STATIC_EXECUTABLE);
    }

    /** The one-node graph the candidates are compiled from. */
    public Graph graph() {
        return single;
    }

    @Override
    public int inputs() {
        return single.inputs().size();
    }

    @Override
    public Candidate build(Config config) {
        String trace = "";
        try {
            task.space().check(config);
        } catch (IllegalArgumentException e) {
            return Candidate.failed(config, trace, ErrorCode.INVALID_CONFIG, e.getMessage());
        }
        long n = counter.incrementAndGet();
        Path out = dir.resolve(packaging == Packaging.LIBRARY ? "candidate-" + n + ".so" : "candidate-" + n);
        try {
            trace = OpInventory.schedule(task.node(), single, target, Knobs.of(config)).schedule().printTrace();
            ExecutorLowering.Plan plan = ExecutorLowering.run(single, target, (node, g, t) -> Knobs.of(config), (name, fn) -> {});
            NativeCompiler.compile(plan.spec(), Backend.of(target, null), out, new NativeCompiler.Options(null, packaging));
            Candidate.Signature signature = new Candidate.Signature(plan.spec().inputs(), plan.spec().outputs());
            return new Candidate(config, Files.readAllBytes(out), signature, trace, ErrorCode.NONE, null);
        } catch (IllegalArgumentException e) {
            return Candidate.failed(config, trace, ErrorCode.INVALID_CONFIG, String.valueOf(e.getMessage()));
        } catch (IOException | RuntimeException e) {
            return Candidate.failed(config, trace, ErrorCode.BUILD_ERROR, e.getClass().getSimpleName() + ": " + e.getMessage());
        } finally {
            deleteQuietly(out);
            deleteQuietly(out.resolveSibling(out.getFileName().toString().replaceAll("\\.so$", "") + ".h"));
        }
    }

    /** The cost model's input for a config: features of the lowered kernel, then the knob values. */
    @Override
    public double[] features(Config config) {
        PrimFunc f = OpInventory.lower(task.node(), single, target, Knobs.of(config)).func();
        return FeatureExtractor.features(LoweringPipeline.run(f, (step, fn) -> {}), task.space(), config);
    }

    /** The node alone: its non-constant inputs become graph inputs, its constants initializers, its outputs graph outputs. */
    static Graph singleNodeGraph(Node node, Graph g) {
        Graph s = new Graph("tune_" + node.op());
        s.opsets().putAll(g.opsets());
        Set<String> seen = new HashSet<>();
        for (String in : node.inputs()) {
            if (in.isEmpty() || !seen.add(in)) continue;
            if (g.isConstant(in)) {
                s.initializers().put(in, g.initializers().get(in));
            } else {
                s.inputs().add(g.value(in));
                s.values().put(in, g.value(in));
            }
        }
        for (String out : node.outputs()) {
            if (out.isEmpty()) continue;
            s.values().put(out, g.value(out));
            s.outputs().add(out);
        }
        s.setNodes(List.of(node));
        return s;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover temporary file is harmless
        }
    }
}
