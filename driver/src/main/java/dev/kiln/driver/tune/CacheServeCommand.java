package dev.kiln.driver.tune;

import dev.kiln.autotune.pack.PackServer;
import dev.kiln.irhigh.KilnException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kiln cache serve DIR}: the packs of a folder over HTTP, read-only, for the
 * {@code --cache-url} of {@code kiln compile} and {@code kiln tune} on other machines
 * ({@link PackServer}). Runs until interrupted.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the packs (*.kpack) of a folder, read-only, to 'kiln compile --cache-url' and 'kiln tune --cache-url'.",
                "GET /index.json lists them; GET /NAME.kpack sends one with its ETag. Nothing can be written through it. Stop with Ctrl-C."})
public final class CacheServeCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "the folder of packs (its top level only)")
    Path dir;

    @Option(names = "--port", defaultValue = "8080", description = "port to listen on (default: ${DEFAULT-VALUE}; 0 picks a free one)")
    int port;

    @Option(names = "--bind", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "address to listen on (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 to serve others)")
    String bind;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (port < 0 || port > 65535) throw new KilnException("--port must be between 0 and 65535, got " + port);
        PrintWriter out = spec.commandLine().getOut();
        PackServer server;
        try {
            server = PackServer.start(dir, bind, port, line -> {
                synchronized (out) {
                    out.println(line);
                    out.flush();
                }
            });
        } catch (IOException e) {
            throw new KilnException("cannot listen on " + bind + ":" + port + ": " + e.getMessage()
                    + " (is something else using the port? pick another with --port)", e);
        }
        out.println("serving the packs of " + dir.toAbsolutePath() + " read-only at " + server.url()
                + (bind.equals("0.0.0.0") || bind.equals("::") ? " (every interface: other machines use this one's name or address)" : "")
                + "; stop with Ctrl-C");
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            server.close();
            stopped.countDown();
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // asked to stop: a clean exit, as with Ctrl-C
        } finally {
            server.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running or has run: it closes the server too.
            }
        }
        return 0;
    }
}
