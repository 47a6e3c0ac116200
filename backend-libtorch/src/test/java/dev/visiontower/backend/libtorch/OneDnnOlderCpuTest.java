package dev.visiontower.backend.libtorch;

import dev.visiontower.api.Activation;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.nn.BlockSpec;
import dev.visiontower.api.nn.NormKind;
import dev.visiontower.api.nn.Parameters;
import dev.visiontower.api.spi.BackendOptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On a CPU without AMX or AVX512-BF16 (simulated: {@code ONEDNN_MAX_CPU_ISA=AVX2} in a child JVM, which limits oneDNN's
 * kernels as such a CPU would) bfloat16 still computes (on libtorch's own kernels, oneDNN has none for it there) and
 * int8 runs with float32 activations; both stay at their tolerances against float32.
 */
class OneDnnOlderCpuTest {

    /** The child: a block in float32, bfloat16 and int8, compared; prints one line per type. */
    public static void main(String[] args) {
        BlockSpec spec = new BlockSpec(64, 4, 128, Activation.QUICK_GELU, NormKind.LAYER_NORM, 1e-5, false, false,
                true, false);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        spec.parameterShapes("", shapes);
        Random r = new Random(5);
        Map<String, HostTensor> w = new LinkedHashMap<>();
        shapes.forEach((k, s) -> {
            float[] v = new float[(int) java.util.Arrays.stream(s).reduce(1, (a, b) -> a * b)];
            for (int i = 0; i < v.length; i++) {
                v[i] = k.contains("norm") ? 1f : (float) (0.08 * r.nextGaussian());
            }
            w.put(k, HostTensor.ofFloats(v, s));
        });
        float[] x = new float[2 * 7 * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        HostTensor want = block(DType.FLOAT32, spec, w, x, null);
        for (DType t : new DType[] {DType.BFLOAT16, DType.INT8}) {
            StringBuilder description = new StringBuilder();
            HostTensor got = block(t, spec, w, x, description);
            Tolerance tol = t == DType.BFLOAT16 ? Tolerance.BFLOAT16 : Tolerance.INT8;
            Tolerance.Comparison c = tol.compare(got, want);
            System.out.println(t + " ok=" + c.ok() + " cos=" + c.cosine() + " [" + description + "]");
        }
    }

    private static HostTensor block(DType t, BlockSpec spec, Map<String, HostTensor> w, float[] x,
                                    StringBuilder description) {
        try (Backend b = Backends.open("libtorch", new BackendOptions(Device.CPU, t, 0, Map.of()))) {
            if (description != null) {
                description.append(b.description());
            }
            Map<String, Tensor> params = new LinkedHashMap<>();
            w.forEach((k, v) -> params.put(k, b.parameter(k, v)));
            try (Parameters p = new Parameters(params); TensorScope s = b.newScope()) {
                return b.layers().block(spec, p, b.ops()).forward(b.fromHost(HostTensor.ofFloats(x, 2, 7, 64)), null)
                        .toHost();
            }
        }
    }

    @Test
    void bfloat16AndInt8WorkWhereOneDnnHasNoBfloat16Kernels() throws Exception {
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
                OneDnnOlderCpuTest.class.getName());
        pb.environment().put("ONEDNN_MAX_CPU_ISA", "AVX2");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "child finished");
        String text = new String(out, StandardCharsets.UTF_8);
        System.out.println(text);
        assertEquals(0, p.exitValue(), "child exit code; output: " + text);
        assertTrue(text.contains("bfloat16 ok=true") && text.contains("products on OpenBLAS/libtorch"),
                "bfloat16 runs on libtorch's kernels, within its tolerance: " + text);
        assertTrue(text.contains("int8 ok=true") && text.contains("oneDNN 3.11.0 (avx2)"),
                "int8 runs on oneDNN's AVX2 kernels, within its tolerance: " + text);
    }
}
