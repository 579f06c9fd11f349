package dev.kiln.driver;

import dev.kiln.frontend.OnnxWriter;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.KilnException;
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

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1",
            description = "the batch: the model's input and output get first dimension N (default 1); the weights are those of batch 1")
    int batch;

    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() {
        if (name == null) {
            System.out.println("built-in models (use as zoo:NAME, or write with 'kiln zoo NAME [--batch N] -o NAME.onnx'):");
            for (String n : Zoo.names()) System.out.println("  " + n);
            return 0;
        }
        if (batch < 1) throw new KilnException("--batch " + batch + ": the batch must be at least 1");
        Path out = output != null ? output : Path.of(name + ".onnx");
        OnnxWriter.write(Zoo.build(name, batch), out);
        System.out.println("wrote " + out + (batch == 1 ? "" : " (batch " + batch + ")"));
        return 0;
    }
}
