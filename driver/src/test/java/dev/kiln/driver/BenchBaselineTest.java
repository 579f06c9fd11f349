package dev.kiln.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.targets.Target;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln bench LIB --baseline OTHER}: both libraries and ONNX Runtime timed together, each checked against ONNX Runtime. */
class BenchBaselineTest {
    @Test
    void timesBothLibrariesAndPrintsTheirRatio(@TempDir Path dir) {
        Path a = Compiler.compile("zoo:mlp", dir.resolve("a.so"), new Compiler.Options(Target.host(), Map.of(), null, false)).library();
        Path b = Compiler.compile("zoo:mlp", dir.resolve("b.so"), new Compiler.Options(Target.host(), Map.of(), null, false)).library();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int code;
        StringWriter err = new StringWriter();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            code = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                    "bench", a.toString(), "--baseline", b.toString(), "--model", "zoo:mlp", "--runs", "3", "--warmup", "1");
        } finally {
            System.setOut(old);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out + err);
        assertTrue(Pattern.compile("baseline +median +[0-9.]+ ms").matcher(out).find(), out);
        assertTrue(Pattern.compile("ratio kiln/baseline \\(medians\\): [0-9.]+").matcher(out).find(), out);
        assertTrue(out.contains("outputs match"), out);
    }
}
