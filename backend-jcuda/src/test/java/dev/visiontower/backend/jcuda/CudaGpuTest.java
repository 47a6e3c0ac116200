package dev.visiontower.backend.jcuda;

import dev.visiontower.api.Activation;
import dev.visiontower.api.Backend;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.BlockSpec;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.NormKind;
import dev.visiontower.api.nn.Parameters;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.nn.TransformerBlock;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.spi.Availability;
import dev.visiontower.api.spi.BackendOptions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks that need a GPU (skipped, with the probe's reason, everywhere else). The model-level parity checks live in
 * the conformance kit; these cover the GEMM engines at every precision on awkward shapes, ownership of device memory
 * over many passes, and that bad input is refused on the host without faulting the device.
 */
class CudaGpuTest {
    private static Availability probe;

    @BeforeAll
    static void probe() {
        probe = new JCudaBackendProvider().probe();
    }

    private static void needGpu() {
        Assumptions.assumeTrue(probe.available(), () -> "no usable GPU: " + probe.reason());
    }

    /**
     * Which cases use the wgmma kernels (sm_90a, compute capability 9.0 only): system property
     * {@code visiontower.test.wgmma} = {@code true} (default: with the others, where the GPU has wgmma), {@code false}
     * (none) or {@code only} (just those; the device script runs them in a JVM of their own, so that a fault there
     * cannot spoil the other results).
     */
    private static final String WGMMA = System.getProperty("visiontower.test.wgmma", "true");

    private static boolean hopper() {
        CudaDriver.Gpu g = CudaDriver.gpus().get(0);
        return g.major() == 9 && g.minor() == 0 && !WGMMA.equals("false");
    }

    /** Whether only the wgmma cases run; skips the test, visibly, when the GPU has no wgmma. */
    private static boolean onlyWgmma() {
        boolean only = WGMMA.equals("only");
        if (only) {
            Assumptions.assumeTrue(hopper(), "only the wgmma cases were asked for, and GPU 0 is not compute "
                    + "capability 9.0");
        }
        return only;
    }

    private static Backend open(DType dtype, Map<String, String> extra) {
        return new JCudaBackendProvider().open(new BackendOptions(Device.cuda(0), dtype, 0, extra));
    }

    private static float[] randn(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** Relative error bound per precision, applied to sum |a_ik b_kj| (the magnitude rounding errors scale with). */
    private static double bound(DType dtype, boolean tf32) {
        if (dtype == DType.BFLOAT16) {
            return 1.6e-2;
        }
        if (dtype == DType.FLOAT16 || tf32) {
            return 2e-3;
        }
        return 1e-5;
    }

    @Test
    void matrixProductsOnEveryEngineAndPrecision() {
        needGpu();
        // K multiples of 8 take the pipelined kernels (with M, N and K tails), the others the simpler ones
        int[][] shapes = {{1, 1, 1, 1}, {37, 53, 29, 3}, {130, 257, 70, 2}, {197, 768, 64, 1}, {300, 200, 197, 2},
            {37, 53, 40, 3}, {130, 257, 72, 2}, {513, 640, 1024, 1}, {1, 8, 8, 1}};
        List<String> engines = new ArrayList<>(onlyWgmma() ? List.of()
                : List.of("own", "own-unpipelined", "own-wide", "own-wmma"));
        if (hopper()) {
            engines.add("own-wgmma");
        } else {
            System.out.println("tile=wgmma not checked: GPU 0 is not compute capability 9.0");
        }
        if (JCudaBackendProvider.cublasProblem() == null && !onlyWgmma()) {
            engines.add("cublas");
        }
        List<String> report = new ArrayList<>();
        for (String engine : engines) {
            for (Object[] mode : new Object[][] {{DType.FLOAT32, false}, {DType.FLOAT32, true}, {DType.BFLOAT16, false},
                {DType.FLOAT16, false}}) {
                DType dt = (DType) mode[0];
                boolean tf32 = (Boolean) mode[1];
                try (Backend b = open(dt, Map.of("gemm", engine.startsWith("own") ? "own" : engine,
                        "pipeline", Boolean.toString(!engine.endsWith("unpipelined")), "tf32", Boolean.toString(tf32),
                        "tile", engine.endsWith("wide") ? "wide" : engine.endsWith("wgmma") ? "wgmma"
                                : engine.endsWith("wmma") ? "narrow" : "mma"))) {
                    Random r = new Random(3);
                    for (int[] s : shapes) {
                        int m = s[0];
                        int n = s[1];
                        int k = s[2];
                        int batch = s[3];
                        float[] a = randn(r, batch * m * k);
                        float[] w = randn(r, n * k);
                        float[] bias = randn(r, n);
                        float[] bb = randn(r, batch * k * n);
                        try (TensorScope scope = b.newScope()) {
                            Tensor ta = b.fromHost(HostTensor.ofFloats(a, batch, m, k));
                            Tensor tw = b.parameter("w", HostTensor.ofFloats(w, n, k));
                            float[] lin = b.ops().linear(ta, tw, b.fromHost(HostTensor.ofFloats(bias, n))).toHost()
                                    .floats();
                            float[] mm = b.ops().matmul(ta, b.fromHost(HostTensor.ofFloats(bb, batch, k, n))).toHost()
                                    .floats();
                            tw.close();
                            double worstLin = 0;
                            double worstMm = 0;
                            for (int z = 0; z < batch; z++) {
                                for (int i = 0; i < m; i++) {
                                    for (int j = 0; j < n; j++) {
                                        double ref = bias[j];
                                        double mag = Math.abs(bias[j]);
                                        double ref2 = 0;
                                        double mag2 = 0;
                                        for (int q = 0; q < k; q++) {
                                            double x = a[(z * m + i) * k + q];
                                            ref += x * w[j * k + q];
                                            mag += Math.abs(x * w[j * k + q]);
                                            ref2 += x * bb[(z * k + q) * n + j];
                                            mag2 += Math.abs(x * bb[(z * k + q) * n + j]);
                                        }
                                        worstLin = Math.max(worstLin,
                                                Math.abs(lin[(z * m + i) * n + j] - ref) / (mag + 1e-30));
                                        worstMm = Math.max(worstMm,
                                                Math.abs(mm[(z * m + i) * n + j] - ref2) / (mag2 + 1e-30));
                                    }
                                }
                            }
                            String what = engine + " " + dt + (tf32 ? "/tf32" : "") + " " + batch + "x[" + m + "x" + k
                                    + "]x[" + k + "x" + n + "]";
                            report.add(String.format(java.util.Locale.ROOT, "%s: linear %.2e, matmul %.2e", what,
                                    worstLin, worstMm));
                            assertTrue(worstLin <= bound(dt, tf32), what + " linear relative error " + worstLin);
                            assertTrue(worstMm <= bound(dt, tf32), what + " matmul relative error " + worstMm);
                        }
                    }
                }
            }
        }
        report.forEach(System.out::println);
    }

    @Test
    void fusedAttentionMatchesTheFloat32Path() {
        needGpu();
        // {B, H, Nq, Nk, D}: tails in both sequence lengths, the two head sizes the fused kernel takes
        int[][] shapes = {{2, 3, 150, 150, 64}, {1, 2, 70, 197, 128}, {3, 1, 1, 65, 64}, {1, 1, 257, 257, 64}};
        Random r = new Random(9);
        try (Backend ref = open(DType.FLOAT32, Map.of())) {
            for (DType dt : new DType[] {DType.BFLOAT16, DType.FLOAT16}) {
                try (Backend fused = open(dt, Map.of()); Backend unfused = open(dt, Map.of("attention", "unfused"))) {
                    assertTrue(((CudaBackend) fused).describe().contains("attention: fused"));
                    for (int[] s : shapes) {
                        for (int variant = 0; variant < 3; variant++) {
                            HostTensor q = HostTensor.ofFloats(randn(r, s[0] * s[1] * s[2] * s[4]), s[0], s[1], s[2], s[4]);
                            HostTensor k = HostTensor.ofFloats(randn(r, s[0] * s[1] * s[3] * s[4]), s[0], s[1], s[3], s[4]);
                            HostTensor v = HostTensor.ofFloats(randn(r, s[0] * s[1] * s[3] * s[4]), s[0], s[1], s[3], s[4]);
                            long[] keep = new long[s[0] * s[3]];
                            for (int i = 0; i < keep.length; i++) {
                                keep[i] = i % s[3] < s[3] - 1 - i / s[3] ? 1 : 0; // padding at the end of each row
                            }
                            keep[0] = 1;
                            HostTensor keepT = HostTensor.ofLongs(keep, s[0], s[3]);
                            boolean causal = variant == 2;
                            boolean masked = variant >= 1;
                            double scale = 1 / Math.sqrt(s[4]);
                            HostTensor[] got = new HostTensor[3];
                            Backend[] bs = {ref, unfused, fused};
                            for (int i = 0; i < 3; i++) {
                                Backend b = bs[i];
                                try (TensorScope scope = b.newScope()) {
                                    Tensor mask = masked ? b.ops().paddingMask(b.fromHost(keepT)) : null;
                                    got[i] = b.ops().attention(b.fromHost(q), b.fromHost(k), b.fromHost(v), mask,
                                            causal, scale).toHost();
                                }
                            }
                            String what = dt + " " + java.util.Arrays.toString(s) + " variant " + variant;
                            var vsRef = dev.visiontower.api.Tolerance.forDType(dt).compare(got[2], got[0]);
                            var vsUnfused = dev.visiontower.api.Tolerance.forDType(dt).compare(got[2], got[1]);
                            System.out.println("fused attention " + what + ": vs float32 " + vsRef.message()
                                    + "; vs unfused " + vsUnfused.message());
                            assertTrue(vsRef.ok(), what + " vs float32: " + vsRef.message());
                            assertTrue(vsUnfused.ok(), what + " vs unfused: " + vsUnfused.message());
                        }
                    }
                }
            }
        }
    }

    /** Random block parameters: matrices ~0.02 N(0,1) (a usual init), norm weights near 1, small biases and scales. */
    private static Map<String, Tensor> blockParameters(Backend b, BlockSpec spec, Random r) {
        Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        spec.parameterShapes("", shapes);
        Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            int n = (int) dev.visiontower.api.Shapes.numel(e.getValue());
            float[] v = randn(r, n);
            boolean normWeight = e.getKey().startsWith("norm") && e.getKey().endsWith(".weight");
            for (int i = 0; i < n; i++) {
                v[i] = normWeight ? 1 + 0.1f * v[i] : (e.getValue().length == 2 ? 0.02f : 0.1f) * v[i];
            }
            out.put(e.getKey(), b.parameter(e.getKey(), HostTensor.ofFloats(v, e.getValue())));
        }
        return out;
    }

    @Test
    void fusedBlocksMatchTheReferenceBlocks() {
        needGpu();
        // spec, tokens, batch: CLIP ViT-B/16, head size 128 with tanh GELU, layer scale with an MLP width that is no
        // multiple of the tile, RMSNorm without qkv bias, a causal text block with padding
        Object[][] cases = {
            {new BlockSpec(768, 12, 3072, Activation.QUICK_GELU, NormKind.LAYER_NORM, 1e-5, false, false, true, false), 197, 3},
            {new BlockSpec(256, 2, 1024, Activation.GELU_TANH, NormKind.LAYER_NORM, 1e-6, false, false, true, false), 50, 2},
            {new BlockSpec(192, 3, 520, Activation.GELU, NormKind.LAYER_NORM, 1e-6, true, false, true, false), 129, 2},
            {new BlockSpec(128, 2, 256, Activation.GELU, NormKind.RMS_NORM, 1e-6, true, false, false, false), 7, 5},
            {new BlockSpec(512, 8, 2048, Activation.QUICK_GELU, NormKind.LAYER_NORM, 1e-5, false, false, true, true), 77, 3},
        };
        Random r = new Random(21);
        // the fused block with the WMMA attention kernel and with the register-resident one; its products on mma.sync,
        // and on wgmma where the GPU has it
        // (attention, dtype, tile, norm)
        List<Object[]> modes = new ArrayList<>(onlyWgmma() ? List.of()
                : List.of(new Object[] {"fused", DType.BFLOAT16, "mma", "block"},
                        new Object[] {"fused", DType.FLOAT16, "mma", "block"},
                        new Object[] {"flash2", DType.BFLOAT16, "mma", "block"},
                        new Object[] {"flash2", DType.FLOAT16, "mma", "warp"}));
        if (hopper()) {
            modes.add(new Object[] {"fused", DType.BFLOAT16, "wgmma", "block"});
            modes.add(new Object[] {"flash2", DType.FLOAT16, "wgmma", "warp"});
        }
        for (Object[] mode : modes) {
            String attention = (String) mode[0];
            DType dt = (DType) mode[1];
            String tile = (String) mode[2];
            String norm = (String) mode[3];
            try (Backend ref = open(DType.FLOAT32, Map.of());
                 CudaBackend fused = (CudaBackend) open(dt, Map.of("attention", attention, "tile", tile, "norm", norm));
                 Backend ops = open(dt, Map.of("block", "ops"))) {
                assertTrue(fused.describe().contains("transformer blocks: fused"), fused.describe());
                assertTrue(fused.describe().contains(attention.equals("flash2") ? "register-resident attention"
                        : "WMMA attention"), fused.describe());
                for (Object[] c : cases) {
                    BlockSpec spec = (BlockSpec) c[0];
                    int n = (Integer) c[1];
                    int batch = (Integer) c[2];
                    long seed = r.nextLong();
                    HostTensor x = HostTensor.ofFloats(randn(r, batch * n * spec.width()), batch, n, spec.width());
                    long[] keep = new long[batch * n];
                    for (int i = 0; i < keep.length; i++) {
                        keep[i] = i % n < n - 3 * (i / n) ? 1 : 0; // row i of the batch loses its last 3i tokens
                    }
                    HostTensor[] got = new HostTensor[3];
                    Backend[] bs = {ref, ops, fused};
                    for (int i = 0; i < 3; i++) {
                        Backend b = bs[i];
                        long live = b.liveTensors();
                        try (Parameters p = new Parameters(blockParameters(b, spec, new Random(seed)))) {
                            TransformerBlock blk = b.layers().block(spec, p, b.ops());
                            assertEquals(b == fused, blk instanceof FusedBlock, blk.getClass().getName());
                            long inUse = -1;
                            for (int pass = 0; pass < (b == fused ? 20 : 1); pass++) {
                                try (TensorScope scope = b.newScope()) {
                                    Tensor mask = spec.causal()
                                            ? b.ops().paddingMask(b.fromHost(HostTensor.ofLongs(keep, batch, n))) : null;
                                    got[i] = blk.forward(b.fromHost(x), mask).toHost();
                                }
                                if (b == fused && pass == 0) {
                                    inUse = fused.memoryStats()[0];
                                }
                            }
                            if (b == fused) {
                                assertEquals(inUse, fused.memoryStats()[0], "device bytes in use after 20 passes");
                            }
                        }
                        assertEquals(live, b.liveTensors(), "nothing left open by " + b.name() + " " + b.dtype());
                    }
                    String what = dt + " attention=" + attention + " tile=" + tile + " norm=" + norm + " " + spec
                            + " x [" + batch + ", " + n + "]";
                    var vsRef = dev.visiontower.api.Tolerance.forDType(dt).compare(got[2], got[0]);
                    var vsOps = dev.visiontower.api.Tolerance.forDType(dt).compare(got[2], got[1]);
                    System.out.println("fused block " + what + ": vs float32 " + vsRef.message() + "; vs ops "
                            + vsOps.message());
                    assertTrue(vsRef.ok(), what + " vs float32: " + vsRef.message());
                    assertTrue(vsOps.ok(), what + " vs the operation-by-operation block: " + vsOps.message());
                }
                // q/k norm is not fused
                BlockSpec qk = new BlockSpec(128, 2, 256, Activation.GELU, NormKind.RMS_NORM, 1e-6, true, true, false,
                        false);
                try (Parameters p = new Parameters(blockParameters(fused, qk, r))) {
                    assertTrue(!(fused.layers().block(qk, p, fused.ops()) instanceof FusedBlock));
                }
            }
        }
    }

    @Test
    void warpNormsMatchTheBlockNorms() {
        needGpu();
        Random r = new Random(8);
        try (Backend warp = open(DType.FLOAT32, Map.of("norm", "warp"));
             Backend block = open(DType.FLOAT32, Map.of("norm", "block"))) {
            for (int cols : new int[] {128, 768, 1024, 200, 1280}) { // the last two take the block kernels
                int rows = 37;
                HostTensor x = HostTensor.ofFloats(randn(r, rows * cols), rows, cols);
                HostTensor w = HostTensor.ofFloats(randn(r, cols), cols);
                HostTensor bias = HostTensor.ofFloats(randn(r, cols), cols);
                HostTensor[][] got = new HostTensor[2][2];
                Backend[] bs = {warp, block};
                for (int i = 0; i < 2; i++) {
                    Backend b = bs[i];
                    try (TensorScope scope = b.newScope()) {
                        got[i][0] = b.ops().layerNorm(b.fromHost(x), b.fromHost(w), b.fromHost(bias), 1e-5).toHost();
                        got[i][1] = b.ops().rmsNorm(b.fromHost(x), b.fromHost(w), 1e-6).toHost();
                    }
                }
                for (int k = 0; k < 2; k++) {
                    var cmp = dev.visiontower.api.Tolerance.FLOAT32.compare(got[0][k], got[1][k]);
                    String what = (k == 0 ? "layerNorm" : "rmsNorm") + " [" + rows + ", " + cols + "] norm=warp";
                    System.out.println(what + " vs norm=block: " + cmp.message());
                    assertTrue(cmp.ok(), what + ": " + cmp.message());
                }
            }
        }
    }

    @Test
    void thousandPassesKeepDeviceMemoryFlat() {
        needGpu();
        VitConfig cfg = VitConfig.builder().imageSize(32).patchSize(8).width(64).depth(2).heads(4).mlpWidth(128)
                .projectionDim(32).build();
        try (CudaBackend b = (CudaBackend) open(DType.FLOAT32, Map.of());
             VisionTransformer model = VisionTransformer.load(cfg, RandomWeights.of(cfg, 7), b)) {
            long params = b.liveTensors();
            HostTensor pixels = HostTensor.ofFloats(randn(new Random(1), 4 * 3 * 32 * 32), 4, 3, 32, 32);
            run(b, model, pixels, 20);
            long inUse = b.memoryStats()[0];
            long[] before = b.memoryStats();
            run(b, model, pixels, 1000);
            long[] after = b.memoryStats();
            System.out.printf("jcuda: device bytes in use %d -> %d, cached %d -> %d, peak %d%n", before[0], after[0],
                    before[1], after[1], after[2]);
            assertEquals(params, b.liveTensors(), "only the weights are open");
            assertEquals(inUse, after[0], "bytes held by tensors return to the weights'");
            assertEquals(before[1], after[1], "the cache does not grow once warm");
        }
    }

    private static void run(Backend b, VisionTransformer model, HostTensor pixels, int n) {
        for (int i = 0; i < n; i++) {
            try (Tensor x = b.fromHost(pixels); VisionOutput out = model.forward(x, ForwardOptions.DEFAULT)) {
                out.imageEmbeds().toHost();
            }
        }
    }

    @Test
    void badInputIsRefusedOnTheHostAndTheDeviceKeepsWorking() {
        needGpu();
        try (Backend b = open(DType.FLOAT32, Map.of()); TensorScope s = b.newScope()) {
            Tensor x = b.fromHost(HostTensor.ofFloats(new float[6], 2, 3));
            Tensor w = b.fromHost(HostTensor.ofFloats(new float[8], 2, 4));
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> b.ops().linear(x, w, null));
            assertTrue(e.getMessage().contains("[2, 4]"), e.getMessage());
            Tensor table = b.fromHost(HostTensor.ofFloats(new float[6], 3, 2));
            Tensor ids = b.fromHost(HostTensor.ofLongs(new long[] {0, 3}, 2));
            e = assertThrows(InvalidInputException.class, () -> b.ops().embedding(table, ids));
            assertTrue(e.getMessage().contains("id 3"), e.getMessage());
            float[] ok = b.ops().add(x, x).toHost().floats();
            assertEquals(6, ok.length);
            Tensor t = b.fromHost(HostTensor.ofFloats(new float[] {1, 2}, 2));
            t.close();
            t.close();
            assertThrows(IllegalStateException.class, t::toHost);
        }
    }
}
