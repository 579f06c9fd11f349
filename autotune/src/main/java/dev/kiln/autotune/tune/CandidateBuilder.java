package dev.kiln.autotune.tune;

import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.features.FeatureExtractor;
import dev.kiln.codegen.NativeCompiler;
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
 * config and compiled into a Kiln model library the runner can load. Safe to call from several
 * threads at once.
 */
public final class CandidateBuilder {
    /** A built candidate, or why there is none ({@code library} is null exactly when {@code error} is not NONE). */
    public record Candidate(Config config, byte[] library, String trace, ErrorCode error, String message) {
        public boolean ok() {
            return error == ErrorCode.NONE;
        }
    }

    private final TaskExtractor.Task task;
    private final Target target;
    private final Graph single;
    private final Path dir;
    private final AtomicLong counter = new AtomicLong();

    /** {@code dir}: where the temporary libraries go (each is deleted once read). */
    public CandidateBuilder(TaskExtractor.Task task, Target target, Path dir) {
        this.task = task;
        this.target = target;
        this.single = singleNodeGraph(task.node(), task.graph());
        this.dir = dir;
    }

    /** The one-node graph the candidates are compiled from. */
    public Graph graph() {
        return single;
    }

    /** Number of inputs the candidate library takes (the runner is given one seed per input). */
    public int inputs() {
        return single.inputs().size();
    }

    public Candidate build(Config config) {
        String trace = "";
        try {
            task.space().check(config);
        } catch (IllegalArgumentException e) {
            return new Candidate(config, null, trace, ErrorCode.INVALID_CONFIG, e.getMessage());
        }
        Path so = dir.resolve("candidate-" + counter.incrementAndGet() + ".so");
        try {
            trace = OpInventory.schedule(task.node(), single, target, Knobs.of(config)).schedule().printTrace();
            ExecutorLowering.Plan plan = ExecutorLowering.run(single, target, (n, g, t) -> Knobs.of(config), (name, fn) -> {});
            NativeCompiler.compile(plan.spec(), target, so, NativeCompiler.Options.defaults());
            return new Candidate(config, Files.readAllBytes(so), trace, ErrorCode.NONE, null);
        } catch (IllegalArgumentException e) {
            return new Candidate(config, null, trace, ErrorCode.INVALID_CONFIG, String.valueOf(e.getMessage()));
        } catch (IOException | RuntimeException e) {
            return new Candidate(config, null, trace, ErrorCode.BUILD_ERROR, e.getClass().getSimpleName() + ": " + e.getMessage());
        } finally {
            deleteQuietly(so);
            deleteQuietly(so.resolveSibling(so.getFileName().toString().replaceAll("\\.so$", ".h")));
        }
    }

    /** The cost model's input for a config: features of the lowered kernel, then the knob values. */
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
            // a leftover temporary library is harmless
        }
    }
}
