package dev.kiln.autotune.runner;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The runner process: serves the runner protocol on a port until killed.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp ... dev.kiln.autotune.runner.RunnerMain [--port N] [--bind ADDR]
 *     [--exit-on-stdin-eof]</pre>
 *
 * {@code --port 0} (the default) picks a free port. {@code --exit-on-stdin-eof} (used by
 * {@link LocalRunner}) exits when stdin closes, i.e. when the parent process is gone. Once serving it prints
 * {@code kiln-runner listening on PORT} on stdout. It binds to the loopback address unless told
 * otherwise: a runner executes whatever library it is sent, so expose it only on a trusted network.
 */
public final class RunnerMain {
    public static final String LISTENING = "kiln-runner listening on ";
    /** Libraries and tensors travel in one message; gRPC's default limit of 4 MiB is too small. */
    static final int MAX_MESSAGE_BYTES = 1 << 30;

    private RunnerMain() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        int port = 0;
        String bind = "127.0.0.1";
        boolean exitWithParent = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = port(value(args, ++i, "--port"));
                case "--bind" -> bind = value(args, ++i, "--bind");
                case "--exit-on-stdin-eof" -> exitWithParent = true;
                default -> usage("unknown argument '" + args[i] + "'");
            }
        }
        if (exitWithParent) exitOnStdinEof();
        Server server = start(bind, port);
        System.out.println(LISTENING + server.getPort());
        System.out.flush();
        server.awaitTermination();
    }

    /** Starts a runner server on {@code bind:port} (port 0 picks one); the caller shuts it down. */
    public static Server start(String bind, int port) throws IOException {
        return NettyServerBuilder.forAddress(new InetSocketAddress(bind, port))
                .addService(new RunnerService())
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .build()
                .start();
    }

    /**
     * A child runner must not outlive the tuner that started it, even if the tuner is killed: the
     * parent holds our stdin open, so end of input means the parent is gone.
     */
    private static void exitOnStdinEof() {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // the parent never writes; wait for the end of the stream
                }
            } catch (IOException e) {
                // a broken pipe means the same as EOF
            }
            System.exit(0);
        }, "kiln-runner-parent-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    private static int port(String s) {
        try {
            int p = Integer.parseInt(s);
            if (p >= 0 && p <= 65535) return p;
        } catch (NumberFormatException e) {
            // reported below
        }
        usage("--port needs a number from 0 to 65535, got '" + s + "'");
        return 0;
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) usage(flag + " needs a value");
        return args[i];
    }

    private static void usage(String problem) {
        System.err.println("kiln-runner: " + problem + "; usage: RunnerMain [--port N] [--bind ADDR] [--exit-on-stdin-eof]");
        System.exit(2);
    }
}
