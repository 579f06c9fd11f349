package dev.kiln.driver.tune;

import dev.kiln.autotune.runner.HostInfo;
import dev.kiln.autotune.runner.RunnerMain;
import dev.kiln.irhigh.KilnException;
import io.grpc.Server;
import java.io.IOException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kiln runner}: serves measurements on this machine for a {@code kiln tune --rpc HOST:PORT}
 * running elsewhere (the board side of the runner protocol, autotune/src/main/proto/runner.proto).
 */
@Command(name = "runner", mixinStandardHelpOptions = true,
        description = {"Measure candidate kernels for a 'kiln tune --rpc HOST:PORT' on another machine.",
                "It runs whatever library it is sent: bind it only to a trusted network."})
public final class RunnerCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "9190", description = "port to listen on (default: ${DEFAULT-VALUE}; 0 picks a free one)")
    int port;

    @Option(names = "--bind", defaultValue = "127.0.0.1", description = "address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface)")
    String bind;

    @Option(names = "--broker", paramLabel = "URL", description = "serve as a board of a fleet: register with the team's PostgreSQL "
            + "(jdbc:postgresql://HOST/DB) and take measurement jobs of --key from 'kiln tune --broker URL --key K'")
    String broker;

    @Option(names = "--key", paramLabel = "K", description = "with --broker: the kind of board this is (e.g. rk3588); tuners fan out to every board of a key")
    String key;

    @Option(names = "--target", defaultValue = "host", description = "with --broker: the target this board measures for (default: ${DEFAULT-VALUE}); "
            + "aarch64-neon[:CPU] on x86 is an emulated board, running candidates under qemu-aarch64")
    String boardTarget;

    @Override
    public Integer call() throws InterruptedException {
        if (broker != null) return BoardCommand.serve(broker, key, boardTarget);
        if (port < 0 || port > 65535) throw new KilnException("--port must be between 0 and 65535, got " + port);
        Server server;
        try {
            server = RunnerMain.start(bind, port);
        } catch (IOException e) {
            throw new KilnException("cannot listen on " + bind + ":" + port + ": " + e.getMessage()
                    + " (is another runner using the port? pick another with --port)", e);
        }
        System.out.println(RunnerMain.LISTENING + server.getPort());
        System.out.println("device " + HostInfo.describe().getDeviceKey() + "; stop with Ctrl-C");
        System.out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        server.awaitTermination();
        return 0;
    }
}
