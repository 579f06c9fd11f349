package dev.kiln.codegen;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.irlow.ScalarType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeaderWriterTest {
    static ModuleSpec awkward() {
        return new ModuleSpec("3d-net */ v2", List.of(new TensorSpec("x/*in*/", ScalarType.F16, List.of(2L, 3L)),
                new TensorSpec("ids", ScalarType.I64, List.of(7L)), new TensorSpec("IDS", ScalarType.BOOL, List.of())),
                List.of(new TensorSpec("0", ScalarType.U8, List.of(5L))), List.of(), 100, List.of(), List.of(), null);
    }

    @Test
    void tableAndDefines() {
        String h = HeaderWriter.header(awkward(), "libnet.so");
        assertTrue(h.contains("#ifndef KILN__3D_NET____V2_H"), h);
        assertTrue(h.contains("#define KILN__3D_NET____V2_NUM_INPUTS 3"));
        assertTrue(h.contains("#define KILN__3D_NET____V2_INPUT_0_BYTES 12ULL"));
        assertTrue(h.contains("#define KILN__3D_NET____V2_INPUT_1_BYTES 56ULL"));
        assertTrue(h.contains("#define KILN__3D_NET____V2_INPUT_2_BYTES 1ULL"), "a scalar bool is one byte");
        assertTrue(h.contains("#define KILN__3D_NET____V2_OUTPUT__0_INDEX 0"));
        assertFalse(h.contains("_IDS_INDEX"), "names that collide after sanitizing get no named macro");
        assertTrue(h.contains("#define KILN__3D_NET____V2_WORKSPACE_BYTES 128ULL"));
        assertTrue(h.contains("float16") && h.contains("[2, 3]") && h.contains("int64"));
        assertTrue(h.contains("typedef struct KilnModel KilnModel;") && h.contains("#include <stdint.h>"));
        for (String f : ExecutorCodegen.EXPORTED) assertTrue(h.contains(f + "("), f);
        assertTrue(h.contains("-lnet"));
    }

    /** The header of awkward names still compiles cleanly as C and C++. */
    @Test
    void compilesAsCAndCxx(@TempDir Path dir) throws Exception {
        assumeTrue(CompiledModelContract.Exec.onPath("gcc"), "gcc is not installed");
        Path h = dir.resolve("net.h");
        Files.writeString(h, HeaderWriter.header(awkward(), "libnet.so"));
        Path c = dir.resolve("t.c");
        Files.writeString(c, """
                #include "net.h"
                #include "net.h"
                _Static_assert(KILN__3D_NET____V2_NUM_OUTPUTS == 1, "outputs");
                int probe(void) { return (int) KILN__3D_NET____V2_INPUT_1_BYTES; }
                """);
        var r = CompiledModelContract.Exec.run("gcc", "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-c", c.toString(),
                "-o", dir.resolve("t.o").toString());
        assertEquals(0, r.code(), r.output());
        if (CompiledModelContract.Exec.onPath("g++")) {
            var cxx = CompiledModelContract.Exec.run("g++", "-x", "c++", "-Wall", "-Werror", "-fsyntax-only", h.toString());
            assertEquals(0, cxx.code(), cxx.output());
        }
    }
}
