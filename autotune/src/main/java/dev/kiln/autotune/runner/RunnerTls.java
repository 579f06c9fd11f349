package dev.kiln.autotune.runner;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * TLS between a tuner and a runner: the runner serves with a certificate and its key, the tuner
 * trusts exactly that certificate (it is the only trust root, so no certificate authority is
 * involved), and {@link #generate} makes a self-signed pair to start with.
 */
public final class RunnerTls {
    public static final String CERT_FILE = "runner.crt";
    public static final String KEY_FILE = "runner.key";
    /** How long a generated certificate is valid: a pair on a board should not expire mid-project. */
    static final int VALID_DAYS = 3650;

    private RunnerTls() {}

    /** The server side: {@code cert} (PEM) and its {@code key} (PEM, PKCS#8), which must be private. */
    static SslContext server(Path cert, Path key) {
        readable(cert, "--tls-cert");
        readable(key, "--tls-key");
        RunnerToken.checkPrivate(key, "TLS key file");
        try {
            return GrpcSslContexts.forServer(cert.toFile(), key.toFile()).build();
        } catch (IOException | RuntimeException e) {
            throw new RunnerException("cannot serve TLS with certificate " + cert + " and key " + key + ": " + e.getMessage()
                    + " (both PEM, the key unencrypted PKCS#8; 'kiln runner --gen-cert DIR' writes such a pair)", e);
        }
    }

    /** The client side: trusts {@code cert}, the runner's own certificate, and nothing else. */
    static SslContext client(Path cert) {
        readable(cert, "--tls-cert");
        try {
            return GrpcSslContexts.forClient().trustManager(cert.toFile()).build();
        } catch (IOException | RuntimeException e) {
            throw new RunnerException("cannot use " + cert + " as the runner's certificate: " + e.getMessage()
                    + " (give the runner.crt that 'kiln runner --gen-cert' wrote, or the runner's --tls-cert)", e);
        }
    }

    private static void readable(Path f, String flag) {
        if (!Files.isRegularFile(f) || !Files.isReadable(f)) throw new RunnerException(flag + " " + f + " is not a readable file");
    }

    /**
     * Writes a self-signed certificate ({@value #CERT_FILE}) and its private key ({@value #KEY_FILE},
     * mode 600) into {@code dir} for localhost, 127.0.0.1, ::1, this machine's hostname and
     * {@code hosts} (names or IP addresses the tuner will use to reach it). Refuses to overwrite a
     * key. Uses the JDK's keytool (the JDK has no public API to sign a certificate) through a
     * throwaway keystore in a private temporary directory; returns the names covered.
     */
    public static List<String> generate(Path dir, List<String> hosts) {
        Path cert = dir.resolve(CERT_FILE), key = dir.resolve(KEY_FILE);
        if (Files.exists(key) || Files.exists(cert))
            throw new RunnerException(key + " or " + cert + " exists already; remove them first or choose another directory");
        Set<String> names = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1", HostInfo.hostname()));
        names.addAll(hosts);
        List<String> san = new ArrayList<>();
        for (String n : names) san.add((isIpAddress(n) ? "ip:" : "dns:") + n);

        String password = RunnerToken.random().value(); // protects only the throwaway keystore
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempDirectory("kiln-gen-cert-"); // mode 700
            Path store = tmp.resolve("runner.p12");
            List<String> cmd = List.of(keytool(), "-genkeypair", "-alias", "kiln-runner", "-keyalg", "EC", "-groupname", "secp256r1",
                    "-sigalg", "SHA256withECDSA", "-dname", "CN=kiln-runner " + HostInfo.hostname(), "-ext", "SAN=" + String.join(",", san),
                    "-validity", Integer.toString(VALID_DAYS), "-keystore", store.toString(), "-storetype", "PKCS12",
                    "-storepass:env", "KILN_KEYSTORE_PASS", "-keypass:env", "KILN_KEYSTORE_PASS");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("KILN_KEYSTORE_PASS", password); // never on the command line
            Process p = pb.start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0)
                throw new RunnerException("keytool could not make the certificate for " + names + ": " + log.strip());
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                ks.load(in, password.toCharArray());
            }
            Key k = ks.getKey("kiln-runner", password.toCharArray());
            Certificate c = ks.getCertificate("kiln-runner");
            // The key file is created private, never widened afterwards: no moment when others may read it.
            writePrivate(key, pem("PRIVATE KEY", k.getEncoded()));
            Files.write(cert, pem("CERTIFICATE", c.getEncoded()), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException e) {
            throw new RunnerException(e.getFile() + " exists already; remove it first or choose another directory", e);
        } catch (IOException | GeneralSecurityException e) {
            throw new RunnerException("cannot write a certificate and key to " + dir + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RunnerException("interrupted while making the certificate", e);
        } finally {
            if (tmp != null) WorkRoot.delete(tmp);
        }
        return List.copyOf(names);
    }

    /** Creates {@code f} with mode 600 from the start, so there is no moment when others may read it. */
    private static void writePrivate(Path f, byte[] bytes) throws IOException {
        Set<StandardOpenOption> opts = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        boolean posix = f.getFileSystem().supportedFileAttributeViews().contains("posix");
        try (var ch = posix ? Files.newByteChannel(f, opts, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
                : Files.newByteChannel(f, opts)) {
            ch.write(java.nio.ByteBuffer.wrap(bytes));
        }
    }

    /** The JDK's keytool: beside this JVM, else on the PATH. */
    private static String keytool() {
        Path beside = Path.of(System.getProperty("java.home"), "bin", "keytool");
        if (Files.isExecutable(beside)) return beside.toString();
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "keytool"))) return Path.of(d, "keytool").toString();
        }
        throw new RunnerException("--gen-cert needs the JDK's keytool, which is neither in " + beside.getParent() + " nor on the PATH; "
                + "run Kiln with a full JDK, or make the pair with: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                + "-nodes -days " + VALID_DAYS + " -subj /CN=kiln-runner -addext subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:HOST "
                + "-keyout " + KEY_FILE + " -out " + CERT_FILE);
    }

    private static boolean isIpAddress(String s) {
        if (s.contains(":")) return true; // IPv6; a DNS name has no colon
        if (!s.matches("[0-9.]+")) return false;
        try {
            return InetAddress.getByName(s) != null; // a dotted quad parses without a lookup
        } catch (IOException e) {
            return false;
        }
    }

    private static byte[] pem(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return ("-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n").getBytes(StandardCharsets.US_ASCII);
    }
}
