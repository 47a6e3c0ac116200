package dev.visiontower.backend.jcuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kernel the Java code launches exists in the CUDA source and, when the build had nvcc, in the shipped PTX. */
class KernelSourceTest {
    private static Set<String> launched() throws IOException {
        Set<String> names = new TreeSet<>();
        // literals are whole names, or prefixes completed at run time: "..._" + nt|nn, "..._d" + head size
        Pattern p = Pattern.compile("\"(vt_[a-z0-9_]+)\"");
        try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
            for (Path f : (Iterable<Path>) files.filter(x -> x.toString().endsWith(".java"))::iterator) {
                Matcher m = p.matcher(Files.readString(f));
                while (m.find()) {
                    String n = m.group(1);
                    if (n.endsWith("_")) {
                        names.add(n + "nt");
                        names.add(n + "nn");
                    } else if (n.endsWith("_d")) {
                        names.add(n + "64");
                        names.add(n + "128");
                    } else {
                        names.add(n);
                    }
                }
            }
        }
        return names;
    }

    private static Set<String> entries(String text, Pattern p) {
        Set<String> out = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    @Test
    void everyLaunchedKernelIsDefined() throws IOException {
        Set<String> used = launched();
        assertTrue(used.size() > 20, "found the launch sites: " + used);
        String cu = Kernels.resource(Kernels.SOURCE);
        assertNotNull(cu, "kernels.cu ships in the jar (NVRTC compiles it)");
        Set<String> defined = entries(cu, Pattern.compile("extern \"C\" __global__ void (?:__launch_bounds__\\(\\d+\\) )?"
                + "(vt_[a-z0-9_]+)\\("));
        defined.addAll(entries(cu, Pattern.compile("\nVT_(?:GEMM_TC|GEMM_PIPE|FLASH|FLASH2)\\((vt_[a-z0-9_]+),")));
        for (String mma : entries(cu, Pattern.compile("\nVT_GEMM_(?:WG)?MMA\\((vt_[a-z0-9_]+),"))) {
            defined.addAll(Set.of(mma, mma + "_epi", mma + "_epi16")); // NAME, NAME##_epi, NAME##_epi16
        }
        for (String suffix : entries(cu, Pattern.compile("\nVT_NORMS\\(([a-z0-9_]*),"))) {
            defined.addAll(Set.of("vt_layer_norm" + suffix, "vt_rms_norm" + suffix));
        }
        for (String suffix : entries(cu, Pattern.compile("\nVT_NORM_ROWS\\(([a-z0-9_]*),"))) {
            defined.addAll(Set.of("vt_layer_norm_rows" + suffix, "vt_rms_norm_rows" + suffix));
        }
        Set<String> missing = new TreeSet<>(used);
        missing.removeAll(defined);
        assertEquals(Set.of(), missing, "launched but not defined in kernels.cu");
    }

    /**
     * ptxas's report on the sm_90a build: no wgmma pipeline serialized (message C7515: another instruction touches the
     * accumulators while a wgmma group is in flight, which silently costs the overlap) and no register spills in the
     * tensor-core kernels. Needs nvcc (skipped with the reason otherwise); no GPU.
     */
    @Test
    void sm90aBuildKeepsWgmmaAsynchronousAndSpillFree() throws Exception {
        Path nvcc = Path.of("/usr/local/cuda/bin/nvcc");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(nvcc), "no nvcc at " + nvcc);
        Path out = Path.of("target/ptxas-sm90a");
        Files.createDirectories(out);
        Process p = new ProcessBuilder(nvcc.toString(), "-cubin", "-O3", "-std=c++17", "-arch=sm_90a", "-Xptxas", "-v",
                "-o", out.resolve("kernels.cubin").toString(),
                "src/main/resources/dev/visiontower/backend/jcuda/" + Kernels.SOURCE)
                .redirectErrorStream(true).redirectOutput(out.resolve("ptxas.log").toFile()).start();
        assertTrue(p.waitFor(600, java.util.concurrent.TimeUnit.SECONDS), "nvcc finished");
        String log = Files.readString(out.resolve("ptxas.log"));
        assertEquals(0, p.exitValue(), log);
        assertFalse(log.contains("C7515"), "wgmma serialized:\n" + log);
        // per entry: "Compiling entry function 'NAME'" ... "N bytes spill stores, M bytes spill loads"
        Matcher m = Pattern.compile("entry function '(vt_(?:gemm_wgmma|gemm_mma|flash2)[a-z0-9_]*)'[^\n]*\n"
                + "[^\n]*\n\\s*(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads").matcher(log);
        int checked = 0;
        while (m.find()) {
            checked++;
            assertEquals("0", m.group(3), m.group(1) + " spills registers");
            assertEquals("0", m.group(4), m.group(1) + " spills registers");
        }
        assertEquals(16, checked, "wgmma (6), mma.sync (6) and flash2 (4) entries in the report:\n" + log);
    }

    @Test
    void shippedPtxHasEveryEntryWhenBuiltWithNvcc() throws IOException {
        String ptx = Kernels.resource(Kernels.PTX);
        if (ptx == null) {
            assertFalse(Files.exists(Path.of("/usr/local/cuda/bin/nvcc")),
                    "nvcc is installed, so the build must have produced kernels.ptx");
            return;
        }
        Set<String> entries = entries(ptx, Pattern.compile("\\.entry (vt_[a-z0-9_]+)\\("));
        Set<String> missing = new TreeSet<>(launched());
        missing.removeAll(entries);
        assertEquals(Set.of(), missing, "launched but not in kernels.ptx");
        assertTrue(ptx.contains(".target sm_80"), "PTX for compute capability 8.0");
        byte[] fat = Kernels.bytes(Kernels.FATBIN);
        assertNotNull(fat, "built with nvcc: the fat binary ships too");
        assertTrue(fat.length > 100_000, "fat binary of " + fat.length + " bytes");
        byte[] sm90a = Kernels.bytes(Kernels.CUBIN_SM90A);
        assertNotNull(sm90a, "built with nvcc: the sm_90a machine code (tile=wgmma) ships too");
        assertTrue(sm90a.length > 100_000 && sm90a[0] == 0x7f && sm90a[1] == 'E' && sm90a[2] == 'L' && sm90a[3] == 'F',
                "an ELF cubin of " + sm90a.length + " bytes");
    }
}
