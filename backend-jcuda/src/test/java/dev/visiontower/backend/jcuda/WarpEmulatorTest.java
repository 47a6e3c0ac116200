package dev.visiontower.backend.jcuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tensor-core kernels of {@code kernels.cu} (mma.sync and wgmma GEMMs with their epilogues, register-resident
 * attention) and the one-warp-per-row norms run on
 * the CPU through the warp emulator in {@code src/test/emulator}, compiled by {@code g++} with AddressSanitizer and
 * UndefinedBehaviorSanitizer, and are compared with float64 references there. Needs {@code g++} and the CUDA headers
 * ({@code cuda_bf16.h}: {@code $CUDA_HOME/include}, {@code /usr/local/cuda/include} or beside {@code nvcc}); without
 * them the test is skipped and says which is missing. No GPU is involved.
 */
class WarpEmulatorTest {
    private static final Path EMULATOR = Path.of("src/test/emulator");
    private static final Path KERNELS = Path.of("src/main/resources/dev/visiontower/backend/jcuda");
    private static final Path OUT = Path.of("target/warp-emulator");

    private static Optional<Path> onPath(String exe) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, exe);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    private static Optional<Path> cudaInclude() {
        List<Path> candidates = new ArrayList<>();
        for (String env : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) {
                candidates.add(Path.of(v, "include"));
            }
        }
        candidates.add(Path.of("/usr/local/cuda/include"));
        onPath("nvcc").ifPresent(nvcc -> {
            try {
                candidates.add(nvcc.toRealPath().getParent().resolveSibling("include"));
            } catch (IOException ignored) {
                // a dangling nvcc link: no headers from there
            }
        });
        return candidates.stream().filter(d -> Files.isRegularFile(d.resolve("cuda_bf16.h"))).findFirst();
    }

    private static String run(List<String> command, Path log, int timeoutSeconds) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0");
        pb.environment().put("UBSAN_OPTIONS", "print_stacktrace=1");
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError(command.get(0) + " did not finish in " + timeoutSeconds + " s; output so far:\n"
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
        return out;
    }

    @Test
    void tensorCoreKernelsMatchFloat64ReferencesOnTheEmulator() throws Exception {
        Optional<Path> gxx = onPath("g++");
        Assumptions.assumeTrue(gxx.isPresent(), "warp emulator skipped: no g++ on PATH");
        Optional<Path> include = cudaInclude();
        Assumptions.assumeTrue(include.isPresent(),
                "warp emulator skipped: no CUDA headers (cuda_bf16.h) in $CUDA_HOME/include, /usr/local/cuda/include"
                        + " or beside nvcc");
        Files.createDirectories(OUT);
        Path exe = OUT.resolve("emulator_tests");
        List<String> compile = List.of(gxx.get().toString(), "-std=c++20", "-O1", "-g", "-pthread",
                "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                "-I" + include.get(), "-I" + KERNELS, "-I" + EMULATOR,
                EMULATOR.resolve("emulator_tests.cpp").toString(), "-o", exe.toString());
        run(compile, OUT.resolve("compile.log"), 600);
        String out = run(List.of(exe.toAbsolutePath().toString()), OUT.resolve("run.log"), 600);
        System.out.print(out);

        Matcher m = Pattern.compile("(?m)^(\\d+) cases, (\\d+) failed$").matcher(out);
        assertTrue(m.find(), "summary line missing:\n" + out);
        int cases = Integer.parseInt(m.group(1));
        assertEquals(0, Integer.parseInt(m.group(2)), out);
        try (Stream<String> lines = out.lines()) {
            assertEquals(cases, lines.filter(l -> l.startsWith("PASS ")).count(), out);
        }
        // the mma.sync GEMM cases validate the emulator against the kernel verified on a GPU; the wgmma cases and the
        // attention cases (head sizes, dtypes, masks, causal) check kernels that have not run on one yet
        assertTrue(out.contains("PASS gemm_mma_bf16") && out.contains("PASS gemm_mma_f16"), out);
        assertTrue(out.contains("PASS gemm_wgmma_bf16") && out.contains("PASS gemm_wgmma_f16"), out);
        for (String k : new String[] {"flash2_bf16_d64", "flash2_bf16_d128", "flash2_f16_d64", "flash2_f16_d128"}) {
            assertTrue(out.contains("PASS " + k), k + " missing:\n" + out);
        }
        assertTrue(out.contains("PASS layer_norm_rows_") && out.contains("PASS rms_norm_rows_"), out);
        assertTrue(cases >= 57, out); // 26 cases under each of the two cp.async schedules, 5 norm cases
    }
}
