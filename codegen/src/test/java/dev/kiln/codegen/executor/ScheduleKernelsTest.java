package dev.kiln.codegen.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Value;
import dev.kiln.schedules.ops.Kernel;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** One kernel per node under a unique name, and copy kernels for the outputs a producer cannot write in place. */
class ScheduleKernelsTest {
    @Test
    void nodesOfOneNameGetUniqueKernelNamesAndAnOutputListedTwiceIsCopied() {
        Graph g = new Graph("g");
        g.opsets().put("", 17);
        g.inputs().add(new Value("x", DType.FLOAT32, Shape.of(4)));
        g.values().put("x", g.inputs().getFirst());
        g.nodes().add(new Node("relu", "Relu", "", List.of("x"), List.of("a"), Map.of(), 17));
        g.nodes().add(new Node("relu", "Relu", "", List.of("a"), List.of("y"), Map.of(), 17));
        g.values().put("a", new Value("a", DType.FLOAT32, Shape.of(4)));
        g.values().put("y", new Value("y", DType.FLOAT32, Shape.of(4)));
        g.outputs().addAll(List.of("y", "y", "x"));

        List<Kernel> kernels = ScheduleKernels.run(g, Target.parse("x86_64-avx2"), ConfigSource.DEFAULTS, (name, fn) -> {});

        List<String> names = kernels.stream().map(k -> k.func().name()).toList();
        assertEquals(List.of("k_relu", "k_relu_2", "k_copy_output1", "k_copy_output2"), names);
        assertEquals(List.of("y"), kernels.get(2).inputs());
        assertEquals(List.of("__output1"), kernels.get(2).outputs());
        assertEquals(List.of("y", "__output1", "__output2"), List.of(ScheduleKernels.outputValue(g, 0),
                ScheduleKernels.outputValue(g, 1), ScheduleKernels.outputValue(g, 2)));
    }
}
