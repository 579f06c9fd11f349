package dev.kiln.autotune.runner;

import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Describes the machine this process runs on, as a runner reports it. */
public final class HostInfo {
    /** Bumped whenever runner.proto changes incompatibly; both ends must agree. */
    public static final int PROTOCOL_VERSION = 1;
    public static final String KILN_VERSION = "0.1.0";

    private HostInfo() {}

    public static DeviceInfo describe() {
        String hostname = hostname();
        String arch = arch();
        String cpu = cpuModel(arch);
        String target;
        try {
            target = Target.host().name();
        } catch (RuntimeException e) {
            target = ""; // not a machine any Kiln target fits; the device is still worth naming
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux") ? "unknown-linux-gnu" : "unknown";
        return DeviceInfo.newBuilder()
                .setDeviceKey(hostname + "/" + cpu)
                .setHostname(hostname)
                .setCpuModel(cpu)
                .setTriple(arch + "-" + os)
                .setArch(arch)
                .setCores(Runtime.getRuntime().availableProcessors())
                .setKilnVersion(KILN_VERSION)
                .setProtocolVersion(PROTOCOL_VERSION)
                .setTarget(target)
                .build();
    }

    static String arch() {
        String a = System.getProperty("os.arch", "unknown");
        return switch (a) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> a;
        };
    }

    static String hostname() {
        try {
            String h = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            if (!h.isEmpty()) return h;
        } catch (IOException e) {
            // not Linux: ask the resolver below
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown-host";
        }
    }

    /** The first "model name" (x86) or "Model"/"Hardware" (ARM boards) line of /proc/cpuinfo. */
    private static String cpuModel(String arch) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon < 0) continue;
                String key = line.substring(0, colon).strip();
                if (key.equals("model name") || key.equals("Model") || key.equals("Hardware")) {
                    String value = line.substring(colon + 1).strip().replaceAll("\\s+", " ");
                    if (!value.isEmpty()) return value;
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return arch;
    }
}
