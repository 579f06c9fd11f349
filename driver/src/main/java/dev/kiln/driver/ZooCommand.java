package dev.kiln.driver;

import dev.kiln.frontend.OnnxWriter;
import dev.kiln.frontend.zoo.Zoo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "zoo", mixinStandardHelpOptions = true,
        description = "List the built-in models, or write one as ONNX (seeded random weights). Any command takes zoo:NAME as a model.")
final class ZooCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "resnet18, mobilenetv2, bert or mlp")
    String name;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.onnx", description = "where to write the model")
    Path output;

    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() {
        if (name == null) {
            System.out.println("built-in models (use as zoo:NAME, or write with 'kiln zoo NAME -o NAME.onnx'):");
            for (String n : Zoo.names()) System.out.println("  " + n);
            return 0;
        }
        Path out = output != null ? output : Path.of(name + ".onnx");
        OnnxWriter.write(Zoo.build(name), out);
        System.out.println("wrote " + out);
        return 0;
    }
}
