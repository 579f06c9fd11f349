package dev.kiln.tests;

import dev.kiln.driver.Compiler;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Zoo models compiled once per test JVM (compiling ResNet-18 takes seconds; tests share it). */
final class CompiledZoo {
    private static final Map<String, Compiler.Result> LIBS = new ConcurrentHashMap<>();
    private static Path dir;

    private CompiledZoo() {}

    static synchronized Compiler.Result get(String name) {
        return LIBS.computeIfAbsent(name, n -> Compiler.compile("zoo:" + n, dir().resolve(n + ".so"),
                new Compiler.Options(Target.host(), Map.of(), null, false)));
    }

    static synchronized Path dir() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("kiln-zoo-");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            dir.toFile().deleteOnExit();
        }
        return dir;
    }
}
