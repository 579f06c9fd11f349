package dev.kiln.autotune.runner;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The measuring worker: a process that measures candidates for the one process that started it
 * ({@link LocalRunner}, in {@code kiln tune} or behind {@code kiln runner}'s {@link RunnerServer}),
 * so that a candidate that crashes or hangs takes down only this worker.
 *
 * <pre>KILN_RUNNER_TOKEN=... java --enable-native-access=ALL-UNNAMED -cp ... dev.kiln.autotune.runner.RunnerMain
 *     --work-root DIR [--port N] [--exit-on-stdin-eof]</pre>
 *
 * It listens on the loopback address only, and answers only calls that carry the token its parent
 * put in {@value RunnerToken#ENV} (a fresh random one), so that no one else on the machine can use
 * it to get around a runner's token. Libraries are written in the session directory a call names
 * in its {@value #SESSION_HEADER} header (under {@code --work-root}), else in the root itself.
 * {@code --port 0} (the default) picks a free port. {@code --exit-on-stdin-eof} exits when stdin
 * closes, i.e. when the parent process is gone. Once serving it prints {@code kiln-runner listening
 * on PORT} on stdout.
 */
public final class RunnerMain {
    public static final String LISTENING = "kiln-runner listening on ";
    /** Libraries and tensors travel in one message; gRPC's default limit of 4 MiB is too small. */
    static final int MAX_MESSAGE_BYTES = 1 << 30;
    static final String SESSION_HEADER = "kiln-session";
    static final Metadata.Key<String> SESSION = Metadata.Key.of(SESSION_HEADER, Metadata.ASCII_STRING_MARSHALLER);
    /** The directory the current call writes its library in. */
    static final Context.Key<Path> WORK_DIR = Context.key("kiln-work-dir");

    private RunnerMain() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        int port = 0;
        Path root = null;
        boolean exitWithParent = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = port(value(args, ++i, "--port"));
                case "--work-root" -> root = Path.of(value(args, ++i, "--work-root"));
                case "--exit-on-stdin-eof" -> exitWithParent = true;
                default -> usage("unknown argument '" + args[i] + "'");
            }
        }
        if (root == null || !Files.isDirectory(root)) usage("--work-root needs an existing directory");
        RunnerToken token;
        try {
            token = RunnerToken.fromEnvironment().orElse(null);
        } catch (RunnerException e) {
            token = null;
        }
        if (token == null) usage("the worker needs a token of at least " + RunnerToken.MIN_LENGTH + " characters in " + RunnerToken.ENV
                + "; it is started by 'kiln tune' and 'kiln runner', not by hand");
        if (exitWithParent) exitOnStdinEof();
        Server server = start(port, token, root);
        System.out.println(LISTENING + server.getPort());
        System.out.flush();
        server.awaitTermination();
    }

    /** Starts a worker server on the loopback address (port 0 picks one); the caller shuts it down. */
    static Server start(int port, RunnerToken token, Path root) throws IOException {
        Path r = root.toAbsolutePath();
        ServerInterceptor session = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                String name = headers.get(SESSION);
                Path dir;
                try {
                    dir = name == null ? r : WorkRoot.session(r, name);
                } catch (IllegalArgumentException e) {
                    call.close(io.grpc.Status.FAILED_PRECONDITION.withDescription(e.getMessage()), new Metadata());
                    return new ServerCall.Listener<>() {};
                }
                return Contexts.interceptCall(Context.current().withValue(WORK_DIR, dir), call, headers, next);
            }
        };
        return NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
                .addService(new RunnerService())
                .intercept(session)
                .intercept(RunnerAuth.server(token, line -> System.err.println("kiln-runner worker: " + line)))
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .build()
                .start();
    }

    /**
     * A worker must not outlive the process that started it, even if that one is killed: the
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
        System.err.println("kiln-runner: " + problem + "; usage: " + RunnerToken.ENV
                + "=TOKEN RunnerMain --work-root DIR [--port N] [--exit-on-stdin-eof]");
        System.exit(2);
    }
}
