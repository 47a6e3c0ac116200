package dev.visiontower.backend.jcuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Makes JCuda's natives loadable on the module path. JCuda's loader looks for {@code /lib/lib<name>.so} only inside
 * the {@code jcuda} module, but the libraries ship in the separate {@code jcuda-natives}/{@code jcublas-natives} jars;
 * it does, however, reuse {@code ${java.io.tmpdir}/lib<name>.so} when that file exists. So before the first touch of a
 * JCuda class, each library is copied there from wherever the class loaders can see it (written to a temporary name
 * and moved into place, so a concurrent JVM or an interrupted copy never leaves a truncated library behind).
 */
final class JCudaNatives {
    static final String VERSION = "12.6.0";
    static final String DRIVER = "JCudaDriver";
    static final String CUBLAS = "JCublas2";
    static final String NVRTC = "JNvrtc";

    private JCudaNatives() {
    }

    static String fileName(String lib) {
        return "lib" + lib + "-" + VERSION + "-linux-x86_64.so";
    }

    /**
     * Extracts one library next to where JCuda looks for it.
     *
     * @return null on success (or when the platform is not linux-x86_64, where JCuda's own loader decides), else why not
     */
    static synchronized String extract(String lib) {
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return "JCuda natives are packaged here for linux-x86_64 only (this is " + os + "/" + arch + ")";
        }
        String name = fileName(lib);
        Path target = Path.of(System.getProperty("java.io.tmpdir"), name);
        try (InputStream in = open("lib/" + name)) {
            if (in == null) {
                return "native library lib/" + name + " is not on the module or class path (add org.jcuda:"
                        + (lib.startsWith("JCublas") ? "jcublas" : "jcuda") + "-natives:" + VERSION + ":linux-x86_64)";
            }
            byte[] bytes = in.readAllBytes();
            if (Files.isRegularFile(target) && Files.size(target) == bytes.length) {
                return null;
            }
            Path tmp = Files.createTempFile(target.getParent(), name, ".part");
            try {
                Files.write(tmp, bytes);
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return null;
        } catch (IOException e) {
            return "cannot extract " + name + " to " + target.getParent() + ": " + e.getMessage();
        }
    }

    private static InputStream open(String resource) {
        InputStream in = ClassLoader.getSystemResourceAsStream(resource);
        if (in == null) {
            ClassLoader cl = JCudaNatives.class.getClassLoader();
            if (cl != null) {
                in = cl.getResourceAsStream(resource);
            }
        }
        return in;
    }

    /** The first line of a native-loading failure, with the missing library named when the loader says so. */
    static String reason(Throwable t) {
        StringBuilder all = new StringBuilder();
        for (Throwable c = t; c != null && all.length() < 20_000; c = c.getCause() == c ? null : c.getCause()) {
            all.append(c).append('\n');
        }
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("(lib[A-Za-z0-9_+.-]+\\.so(\\.[0-9]+)*): cannot open shared object file").matcher(all);
        if (m.find()) {
            return m.group(1) + " not found";
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        return root.getClass().getSimpleName() + (msg == null ? "" : ": " + msg.lines().findFirst().orElse(""));
    }
}
