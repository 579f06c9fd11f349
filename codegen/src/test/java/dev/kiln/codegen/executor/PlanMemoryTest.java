package dev.kiln.codegen.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.schedules.ops.Kernel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Values whose lives do not overlap share workspace bytes; inputs, outputs and weights are bound elsewhere. */
class PlanMemoryTest {
    /** A kernel reading {@code in} and writing {@code out}; its body does not matter to the plan. */
    private static Kernel kernel(String name, List<String> in, List<String> out) {
        List<Buffer> params = new ArrayList<>();
        for (String v : in) params.add(new Buffer(v, ScalarType.F32, 16));
        for (String v : out) params.add(new Buffer(v, ScalarType.F32, 16));
        Stmt body = new Stmt.Store(params.getLast(), Exprs.idx(0), Exprs.f32(0));
        return new Kernel(new PrimFunc(name, params, body), in, out);
    }

    private static Value f32(String name, long... dims) {
        return new Value(name, DType.FLOAT32, Shape.of(dims));
    }

    @Test
    void chainReusesTheBufferOfAValueNoLongerRead() {
        Graph g = new Graph("chain");
        g.inputs().add(f32("x", 16));
        g.initializers().put("w", Tensor.zeros(DType.FLOAT32, Shape.of(16)));
        g.initializers().put("unused", Tensor.zeros(DType.FLOAT32, Shape.of(16)));
        for (String v : List.of("a", "b", "c", "y")) g.values().put(v, f32(v, 16));
        g.outputs().add("y");
        // a lives over calls 0-1, b over 1-2, c over 2-3: a and c can share bytes, b cannot.
        List<Kernel> kernels = List.of(kernel("k0", List.of("x", "w"), List.of("a")), kernel("k1", List.of("a"), List.of("b")),
                kernel("k2", List.of("b"), List.of("c")), kernel("k3", List.of("c"), List.of("y")));

        PlanMemory.MemoryPlan plan = PlanMemory.run(g, kernels);

        assertEquals(new Arg.Input(0), plan.args().get("x"));
        assertEquals(new Arg.Output(0), plan.args().get("y"));
        assertEquals(new Arg.Const(0), plan.args().get("w"));
        assertEquals(List.of("w"), plan.constants().stream().map(c -> c.name()).toList(), "a weight no kernel reads is not embedded");
        assertFalse(plan.args().containsKey("unused"));
        assertEquals(plan.args().get("a"), plan.args().get("c"));
        assertNotEquals(plan.args().get("a"), plan.args().get("b"));
        assertEquals(3 * 64, plan.intermediateBytes());
        assertEquals(2 * 64, plan.workspaceBytes());
        assertEquals(0, plan.scratchBytes());
    }

    @Test
    void hoistedScratchIsCountedApartAndLivesForItsKernelOnly() {
        Graph g = new Graph("scratch");
        g.inputs().add(f32("x", 16));
        g.values().put("a", f32("a", 16));
        g.values().put("y", f32("y", 16));
        g.values().put("__scratch:k0:pad", f32("__scratch:k0:pad", 32));
        g.outputs().add("y");
        List<Kernel> kernels = List.of(kernel("k0", List.of("x"), List.of("a", "__scratch:k0:pad")),
                kernel("k1", List.of("a"), List.of("y")));

        PlanMemory.MemoryPlan plan = PlanMemory.run(g, kernels);

        assertEquals(64, plan.intermediateBytes());
        assertEquals(128, plan.scratchBytes());
        assertEquals(192, plan.workspaceBytes(), "the scratch is live with a during k0");
    }
}
