package dev.kiln.autotune.fleet;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.autotune.runner.proto.DeviceInfo;

/**
 * What a board says about itself in {@code fleet_boards.device}: its device facts as the runner
 * protocol has them, whether its figures are emulated, and where its code runs.
 */
record DeviceFacts(DeviceInfo info, boolean emulated, String runs) {
    String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("deviceKey", info.getDeviceKey());
        o.addProperty("hostname", info.getHostname());
        o.addProperty("cpuModel", info.getCpuModel());
        o.addProperty("triple", info.getTriple());
        o.addProperty("arch", info.getArch());
        o.addProperty("cores", info.getCores());
        o.addProperty("kilnVersion", info.getKilnVersion());
        o.addProperty("target", info.getTarget());
        o.addProperty("emulated", emulated);
        o.addProperty("runs", runs);
        return o.toString();
    }

    static DeviceFacts fromJson(String json) {
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        DeviceInfo info = DeviceInfo.newBuilder().setDeviceKey(o.get("deviceKey").getAsString()).setHostname(o.get("hostname").getAsString())
                .setCpuModel(o.get("cpuModel").getAsString()).setTriple(o.get("triple").getAsString()).setArch(o.get("arch").getAsString())
                .setCores(o.get("cores").getAsInt()).setKilnVersion(o.get("kilnVersion").getAsString()).setTarget(o.get("target").getAsString())
                .build();
        return new DeviceFacts(info, o.get("emulated").getAsBoolean(), o.get("runs").getAsString());
    }
}
