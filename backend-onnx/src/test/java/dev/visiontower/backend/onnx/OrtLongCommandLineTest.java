package dev.visiontower.backend.onnx;

import dev.visiontower.api.spi.Availability;
import dev.visiontower.backend.onnx.internal.NativeEnvironment;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ONNX Runtime 1.29's Linux telemetry client, started with the environment, read the process command line and
 * overflowed the stack when it was longer than about 4 KB: the JVM died with SIGSEGV (a long class path is enough).
 * The provider switches that client off before ONNX Runtime starts; a child JVM with a 5,000-character argument and
 * no {@code ORT_DISABLE_TELEMETRY} in its environment must load ONNX Runtime and exit normally.
 */
class OrtLongCommandLineTest {

    /** The child process: probe the backend, print whether it loaded and the variable ONNX Runtime saw. */
    public static void main(String[] args) {
        Availability a = new OrtBackendProvider().probe();
        System.out.println("available=" + a.available() + " ORT_DISABLE_TELEMETRY="
                + NativeEnvironment.get("ORT_DISABLE_TELEMETRY") + " args=" + args[0].length());
    }

    @Test
    void onnxRuntimeStartsUnderACommandLineOverFourKilobytes() throws Exception {
        List<String> path = new ArrayList<>();
        for (String p : new String[] {System.getProperty("jdk.module.path"), System.getProperty("java.class.path")}) {
            if (p != null && !p.isEmpty()) {
                path.add(p);
            }
        }
        path.add(Path.of("target", "test-classes").toAbsolutePath().toString());
        path.add(Path.of("target", "classes").toAbsolutePath().toString());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", String.join(File.pathSeparator, path),
                OrtLongCommandLineTest.class.getName(), "x".repeat(5000));
        pb.environment().remove("ORT_DISABLE_TELEMETRY");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child finished");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "child exit code (139 = SIGSEGV); output: " + text);
        assertTrue(text.contains("available=true ORT_DISABLE_TELEMETRY=1 args=5000"), text);
    }
}
