package dev.kiln.autotune.fleet;

import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.tune.Candidate;
import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irlow.ScalarType;
import dev.kiln.schedules.space.Config;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** A built candidate as a job carries it: its config, trace, artifact and signature. */
final class CandidateBytes {
    private static final int VERSION = 1;

    private CandidateBytes() {}

    static byte[] write(Candidate c) {
        if (!c.ok()) throw new IllegalArgumentException("only a built candidate is measured; " + c.config() + " failed: " + c.message());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(VERSION);
            out.writeUTF(c.config().toString());
            writeLong(out, c.trace());
            out.writeInt(c.artifact().length);
            out.write(c.artifact());
            boolean signed = c.signature() != null;
            out.writeBoolean(signed);
            if (signed) {
                writeSpecs(out, c.signature().inputs());
                writeSpecs(out, c.signature().outputs());
            }
        } catch (IOException e) {
            throw new IllegalStateException(e); // a byte array does not fail
        }
        return bytes.toByteArray();
    }

    static Candidate read(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            int version = in.readInt();
            if (version != VERSION) throw new KilnException("a fleet job carries a candidate of format " + version
                    + ", this Kiln reads " + VERSION + ": run the same Kiln on the tuner and the boards");
            Config config = Config.parse(in.readUTF());
            String trace = readLong(in);
            byte[] artifact = new byte[in.readInt()];
            in.readFully(artifact);
            Candidate.Signature sig = in.readBoolean() ? new Candidate.Signature(readSpecs(in), readSpecs(in)) : null;
            return new Candidate(config, artifact, sig, trace, ErrorCode.NONE, null);
        } catch (IOException e) {
            throw new KilnException("a fleet job's candidate is truncated or damaged: " + e.getMessage(), e);
        }
    }

    private static void writeSpecs(DataOutputStream out, List<TensorSpec> specs) throws IOException {
        out.writeInt(specs.size());
        for (TensorSpec s : specs) {
            out.writeUTF(s.name());
            out.writeUTF(s.dtype().name());
            out.writeInt(s.shape().size());
            for (long d : s.shape()) out.writeLong(d);
            out.writeBoolean(s.shapeOutput() != null);
            if (s.shapeOutput() != null) out.writeUTF(s.shapeOutput());
        }
    }

    private static List<TensorSpec> readSpecs(DataInputStream in) throws IOException {
        int n = in.readInt();
        List<TensorSpec> specs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = in.readUTF();
            ScalarType dtype = ScalarType.valueOf(in.readUTF());
            int rank = in.readInt();
            List<Long> shape = new ArrayList<>();
            for (int d = 0; d < rank; d++) shape.add(in.readLong());
            String shapeOutput = in.readBoolean() ? in.readUTF() : null;
            specs.add(new TensorSpec(name, dtype, shape, shapeOutput));
        }
        return specs;
    }

    /** A string that may pass writeUTF's 64 KiB (a long trace). */
    private static void writeLong(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readLong(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }
}
