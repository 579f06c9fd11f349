package dev.kiln.driver.tune;

import dev.kiln.autotune.fleet.Fleet;
import dev.kiln.autotune.fleet.FleetSettings;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kiln boards --broker URL}: the boards of the fleet, their heartbeat and work. */
@Command(name = "boards", mixinStandardHelpOptions = true,
        description = "List the boards registered with a fleet's broker: key, board, target, last heartbeat, busy or free "
                + "(gone: no heartbeat for longer than the lease), jobs done and errors.")
public final class BoardsCommand implements Callable<Integer> {
    @Option(names = "--broker", required = true, paramLabel = "URL", description = "the team's PostgreSQL (jdbc:postgresql://HOST/DB)")
    String broker;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<Fleet.BoardStatus> boards = Fleet.boards(broker, FleetSettings.fromEnvironment());
        if (boards.isEmpty()) {
            out.println("no board has registered: start one with 'kiln runner --broker URL --key K'");
            return 0;
        }
        String fmt = "%-12s %-28s %-26s %-14s %-16s %9s %7s%n";
        out.printf(Locale.ROOT, fmt, "KEY", "BOARD", "TARGET", "HEARTBEAT", "STATE", "JOBS", "ERRORS");
        for (Fleet.BoardStatus b : boards)
            out.printf(Locale.ROOT, fmt, b.key(), b.board(), b.target() + (b.emulated() ? " (emulated)" : ""),
                    age(b.heartbeatAgeS()), b.state(), b.jobsDone(), b.errors());
        return 0;
    }

    private static String age(double s) {
        if (s < 120) return String.format(Locale.ROOT, "%.0f s ago", s);
        if (s < 7200) return String.format(Locale.ROOT, "%.0f min ago", s / 60);
        return String.format(Locale.ROOT, "%.0f h ago", s / 3600);
    }
}
