package dev.kiln.driver.tune;

import dev.kiln.autotune.runner.HostInfo;
import dev.kiln.autotune.runner.RunnerException;
import dev.kiln.autotune.runner.RunnerMain;
import dev.kiln.autotune.runner.RunnerServer;
import dev.kiln.autotune.runner.RunnerTls;
import dev.kiln.autotune.runner.RunnerToken;
import dev.kiln.irhigh.KilnException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kiln runner}: serves measurements on this machine for a {@code kiln tune --rpc HOST:PORT}
 * running elsewhere (the board side of the runner protocol, autotune/src/main/proto/runner.proto),
 * behind a token, optionally over TLS, measuring in a worker process it restarts after a crash.
 */
@Command(name = "runner", mixinStandardHelpOptions = true,
        description = {"Measure candidate kernels for a 'kiln tune --rpc HOST:PORT' on another machine.",
                "Every call must carry the token of --token-file (or $" + RunnerToken.ENV + "); without one it listens on "
                        + "loopback only. Candidates run in a worker process, restarted after a crash or hang."})
public final class RunnerCommand implements Callable<Integer> {
    /**
     * gRPC logs a refused oversized upload with a stack trace, and every failed connection; the
     * tuner hears why in words, and this runner prints its own line for each refused call.
     */
    private static final Logger GRPC_LOG = Logger.getLogger("io.grpc");

    @Option(names = "--port", defaultValue = "9190", description = "port to listen on (default: ${DEFAULT-VALUE}; 0 picks a free one)")
    int port;

    @Option(names = "--bind", defaultValue = "127.0.0.1", description = "address to listen on (default: ${DEFAULT-VALUE}; "
            + "0.0.0.0 for every interface, which needs a token)")
    String bind;

    @Option(names = "--broker", paramLabel = "URL", description = "serve as a board of a fleet: register with the team's PostgreSQL "
            + "(jdbc:postgresql://HOST/DB) and take measurement jobs of --key from 'kiln tune --broker URL --key K'")
    String broker;

    @Option(names = "--key", paramLabel = "K", description = "with --broker: the kind of board this is (e.g. rk3588); tuners fan out to every board of a key")
    String key;

    @Option(names = "--target", defaultValue = "host", description = "with --broker: the target this board measures for (default: ${DEFAULT-VALUE}); "
            + "aarch64-neon[:CPU] on x86 is an emulated board, running candidates under qemu-aarch64")
    String boardTarget;

    @Option(names = "--token-file", paramLabel = "FILE", description = "the shared token tuners must present (a file readable by "
            + "you alone, at least " + RunnerToken.MIN_LENGTH + " characters; default: $" + RunnerToken.ENV + ")")
    Path tokenFile;

    @Option(names = "--tls-cert", paramLabel = "FILE", description = "serve TLS with this certificate (PEM); tuners pin it with --tls-cert")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "the certificate's private key (PEM, PKCS#8, readable by you alone)")
    Path tlsKey;

    @Option(names = "--max-upload-mb", paramLabel = "N", defaultValue = "" + RunnerServer.DEFAULT_MAX_UPLOAD_MB,
            description = "largest request (library and tensors) accepted, in MB (default: ${DEFAULT-VALUE})")
    int maxUploadMb;

    @Option(names = "--gen-cert", paramLabel = "DIR", description = "write a self-signed certificate and key (DIR/"
            + RunnerTls.CERT_FILE + ", DIR/" + RunnerTls.KEY_FILE + ") for this machine, then exit")
    Path genCert;

    @Option(names = "--host", paramLabel = "NAME", description = "with --gen-cert: another name or address tuners reach this "
            + "machine by (repeatable; localhost, 127.0.0.1 and the hostname are always in)")
    List<String> hosts;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        if (genCert != null) return generate(out);
        if (hosts != null) throw new KilnException("--host goes with --gen-cert: the names the generated certificate covers");
        if (broker != null) return BoardCommand.serve(broker, key, boardTarget);
        if (port < 0 || port > 65535) throw new KilnException("--port must be between 0 and 65535, got " + port);
        GRPC_LOG.setLevel(Level.SEVERE);
        RunnerServer server;
        try {
            RunnerToken token = RunnerToken.fromFileOrEnvironment(tokenFile).orElse(null);
            server = RunnerServer.start(new RunnerServer.Config(bind, port, token, tlsCert, tlsKey, maxUploadMb), line -> {
                out.println("kiln runner: " + line);
                out.flush();
            });
            if (token == null) out.println("kiln runner: no token: any user of this machine can run code through this runner");
            else if (tlsCert == null && !isLoopback(bind))
                out.println("kiln runner: warning: without TLS the token and the candidates cross the network in the clear; "
                        + "add --tls-cert and --tls-key (kiln runner --gen-cert DIR makes a pair)");
        } catch (RunnerException e) {
            throw new KilnException(e.getMessage(), e);
        } catch (IOException e) {
            throw new KilnException("cannot listen on " + bind + ":" + port + ": " + e.getMessage()
                    + " (is another runner using the port? pick another with --port)", e);
        }
        out.println("kiln runner: each connection's libraries go to a directory of its own in " + server.workRoot()
                + ", wiped when it closes");
        out.println(RunnerMain.LISTENING + server.port());
        out.println("device " + HostInfo.describe().getDeviceKey() + (tlsCert != null ? ", TLS" : "") + ", uploads up to "
                + maxUploadMb + " MB; stop with Ctrl-C");
        out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        server.awaitTermination();
        return 0;
    }

    private int generate(PrintWriter out) {
        List<String> names;
        try {
            names = RunnerTls.generate(genCert, hosts == null ? List.of() : hosts);
        } catch (RunnerException e) {
            throw new KilnException(e.getMessage(), e);
        }
        Path cert = genCert.resolve(RunnerTls.CERT_FILE), key = genCert.resolve(RunnerTls.KEY_FILE);
        out.println("wrote " + cert + " (the certificate: copy it to the tuning machine) and " + key
                + " (its private key, mode 600: it stays here), for " + String.join(", ", names));
        out.println("here:  kiln runner --bind 0.0.0.0 --token-file runner.token --tls-cert " + cert + " --tls-key " + key);
        out.println("there: kiln tune MODEL --rpc " + HostInfo.describe().getHostname() + ":" + port + " --token-file runner.token --tls-cert "
                + RunnerTls.CERT_FILE);
        out.println("no token yet? " + RunnerToken.HOW_TO_MAKE + ", and copy it to the tuning machine over a private channel (scp)");
        return 0;
    }

    private static boolean isLoopback(String bind) {
        try {
            return InetAddress.getByName(bind).isLoopbackAddress();
        } catch (IOException e) {
            return false;
        }
    }
}
