package dev.kiln.driver.tune;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.fleet.FleetRunner;
import dev.kiln.autotune.fleet.FleetSettings;
import dev.kiln.autotune.runner.RunnerException;
import dev.kiln.autotune.tune.OneNodeBuilder;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.autotune.tune.TuneLoop;
import dev.kiln.irhigh.KilnException;
import dev.kiln.targets.Target;
import java.io.PrintWriter;
import java.util.List;

/** {@code kiln tune --broker URL --key K}: tuning with the boards of a fleet measuring, the records in the broker's database. */
final class FleetTune {
    private FleetTune() {}

    /** The boards of the command's key; refuses options that mean something else. */
    static FleetRunner open(TuneCommand cmd) {
        if (cmd.rpc != null) throw new KilnException("--broker and --rpc both say where to measure: choose one");
        if (cmd.compare != null) throw new KilnException("--compare times libraries on this machine: drop --broker");
        if (cmd.db != null && !cmd.db.equals(cmd.broker))
            throw new KilnException("with --broker the records go to the broker's database, which the boards write: drop --db " + cmd.db);
        FleetRunner fleet = FleetRunner.open(cmd.broker, cmd.key, FleetSettings.fromEnvironment());
        if (!cmd.target.equals("host") && !Target.parse(cmd.target).name().equals(Target.parse(fleet.target()).name())) {
            fleet.close();
            throw new KilnException("--target " + cmd.target + " is not what the boards of key '" + cmd.key + "' serve (" + fleet.target()
                    + "): drop --target, or choose the key of boards of that target ('kiln boards --broker URL')");
        }
        return fleet;
    }

    /** Tunes on the fleet: programs where the boards run programs (emulated), else libraries. No end-to-end timing: the boards hold no whole model. */
    static dev.kiln.driver.tune.EndToEnd.Result tune(FleetRunner fleet, Target t, TuningDatabase database, TuneLoop.Settings settings,
                                                     List<TaskExtractor.Task> tasks, PrintWriter err) {
        err.println("measuring on " + fleet.describe());
        try {
            new TuneLoop(t, database, fleet.programs() ? OneNodeBuilder::program : OneNodeBuilder::library, fleet, settings,
                    Progress.to(err)).run(tasks);
        } catch (RunnerException e) {
            throw new KilnException("the fleet failed: " + e.getMessage() + ". Every measurement so far is in " + database
                    + "; run the same command again to resume.", e);
        }
        return null;
    }
}
