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
import dev.visiontower.api.nn.LayerFactory;
import dev.visiontower.api.nn.NormKind;
import dev.visiontower.api.nn.Parameters;
import dev.visiontower.api.nn.TransformerBlock;
import dev.visiontower.api.spi.BackendOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The oneDNN block against the reference block on the same weights, in float32 and bfloat16: every block variant
 * (norms, activations, layer scale, q/k norm, q/k/v bias, causal and padding masks), both attention paths, repacking
 * after an in-place weight change, and the training path.
 */
class OneDnnBlockTest {

    private static Backend open(DType dtype, String attention) {
        assumeTrue(OneDnn.get() != null, () -> "oneDNN did not load: " + OneDnn.failure());
        OneDnn.Type t = dtype == DType.BFLOAT16 ? OneDnn.Type.BF16 : OneDnn.Type.F32;
        assumeTrue(OneDnn.get().supports(t, t), () -> "oneDNN has no " + dtype + " kernels for this CPU ("
                + OneDnn.get().description() + "): libtorch's own kernels run it, OneDnnOlderCpuTest covers that");
        return Backends.open("libtorch", new BackendOptions(Device.CPU, dtype, 0, Map.of("attention", attention)));
    }

    /** The libtorch backend without oneDNN: reference operations only (OpenBLAS products, libtorch attention). */
    private static Backend plain(DType dtype) {
        return Backends.open("libtorch", new BackendOptions(Device.CPU, dtype, 0, Map.of("onednn", "false")));
    }

    private static Parameters weights(Backend b, BlockSpec spec, long seed) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        spec.parameterShapes("", shapes);
        Random r = new Random(seed);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) {
                n *= d;
            }
            float[] v = new float[(int) n];
            boolean norm = e.getKey().contains("norm") || e.getKey().startsWith("ls");
            for (int i = 0; i < v.length; i++) {
                v[i] = norm ? (float) (1 + 0.1 * r.nextGaussian()) : (float) (0.08 * r.nextGaussian());
            }
            out.put(e.getKey(), b.parameter(e.getKey(), HostTensor.ofFloats(v, e.getValue())));
        }
        return new Parameters(out);
    }

    private static HostTensor tokens(long b, long n, long d, long seed) {
        Random r = new Random(seed);
        float[] v = new float[(int) (b * n * d)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return HostTensor.ofFloats(v, b, n, d);
    }

    private static HostTensor padding(Backend b, long batch, long n) {
        long[] keep = new long[(int) (batch * n)];
        for (int i = 0; i < batch; i++) {
            for (int j = 0; j < n; j++) {
                keep[(int) (i * n + j)] = j < n - 2 * i ? 1 : 0; // row i pads its last 2*i tokens
            }
        }
        try (TensorScope s = b.newScope()) {
            return b.ops().paddingMask(b.fromHost(HostTensor.ofLongs(keep, batch, n))).toHost();
        }
    }

    @ParameterizedTest(name = "{0} {1} {2} ls={3} qkNorm={4} qkvBias={5} causal={6} mask={7} attention={8}")
    @CsvSource({
        "float32, LAYER_NORM, QUICK_GELU, false, false, true, false, false, onednn",
        "float32, LAYER_NORM, QUICK_GELU, false, false, true, false, false, sdpa",
        "float32, LAYER_NORM, GELU, true, false, true, false, false, onednn",
        "float32, RMS_NORM, GELU_TANH, true, true, false, false, false, onednn",
        "float32, LAYER_NORM, GELU, false, false, true, true, true, onednn",
        "bfloat16, LAYER_NORM, QUICK_GELU, false, false, true, false, false, onednn",
        "bfloat16, LAYER_NORM, QUICK_GELU, false, false, true, false, false, sdpa",
        "bfloat16, LAYER_NORM, GELU, true, false, true, false, false, onednn",
        "bfloat16, RMS_NORM, GELU_TANH, true, true, false, false, false, onednn",
        "bfloat16, LAYER_NORM, GELU_TANH, false, false, true, true, true, onednn",
    })
    void matchesTheReferenceBlock(String dtype, NormKind norm, Activation act, boolean layerScale, boolean qkNorm,
                                  boolean qkvBias, boolean causal, boolean masked, String attention) {
        DType t = DType.parse(dtype);
        BlockSpec spec = new BlockSpec(64, 4, 160, act, norm, 1e-6, layerScale, qkNorm, qkvBias, causal);
        HostTensor want;
        try (Backend r = plain(t); Parameters p = weights(r, spec, 11); TensorScope s = r.newScope()) {
            TransformerBlock reference = r.layers().block(spec, p, r.ops());
            Tensor mask = masked ? r.fromHost(padding(r, 3, 17)) : null;
            want = reference.forward(r.fromHost(tokens(3, 17, 64, 5)), mask).toHost();
        }
        try (Backend b = open(t, attention); Parameters p = weights(b, spec, 11)) {
            TransformerBlock fused = b.layers().block(spec, p, b.ops());
            assertTrue(fused instanceof OneDnnBlock, "the CPU backend substitutes its oneDNN block");
            long before = b.liveTensors();
            try (TensorScope s = b.newScope()) {
                Tensor x = b.fromHost(tokens(3, 17, 64, 5));
                Tensor mask = masked ? b.fromHost(padding(b, 3, 17)) : null;
                HostTensor got = fused.forward(x, mask).toHost();
                // both in the compute type; the reference's products and attention accumulate in another order
                Tolerance tol = t == DType.FLOAT32 ? Tolerance.FLOAT32 : Tolerance.BFLOAT16;
                Tolerance.Comparison c = tol.compare(got, want);
                for (float v : got.floats()) {
                    assertTrue(Float.isFinite(v), "finite output");
                }
                System.out.println(spec + " " + dtype + " " + attention + ": " + c.message());
                assertTrue(c.ok(), c.message());
            }
            assertEquals(before, b.liveTensors(), "the block's temporaries are released");
        }
    }

    @Test
    void repacksWhenAWeightChangesInPlace() {
        BlockSpec spec = new BlockSpec(32, 2, 64, Activation.GELU, NormKind.LAYER_NORM, 1e-5, false, false, true,
                false);
        float[] w = new float[64 * 32];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) Math.cos(i);
        }
        HostTensor want;
        try (Backend r = plain(DType.FLOAT32); Parameters p = weights(r, spec, 3); TensorScope s = r.newScope()) {
            r.autograd().assign(p.get("mlp.fc2.weight"), HostTensor.ofFloats(w, 32, 64));
            want = LayerFactory.DEFAULT.block(spec, p, r.ops()).forward(r.fromHost(tokens(2, 5, 32, 1)), null).toHost();
        }
        try (Backend b = open(DType.FLOAT32, "onednn"); Parameters p = weights(b, spec, 3);
             TensorScope s = b.newScope()) {
            TransformerBlock fused = b.layers().block(spec, p, b.ops());
            Tensor x = b.fromHost(tokens(2, 5, 32, 1));
            HostTensor first = fused.forward(x, null).toHost();
            b.autograd().assign(p.get("mlp.fc2.weight"), HostTensor.ofFloats(w, 32, 64));
            HostTensor second = fused.forward(x, null).toHost();
            Tolerance.Comparison c = Tolerance.FLOAT32.compare(second, want);
            assertTrue(c.ok(), "after the change: " + c.message());
            assertTrue(!Tolerance.FLOAT32.compare(first, second).ok(), "the output changed with the weight");
        }
    }

    @Test
    void gradientsFlowThroughTheReferencePath() {
        BlockSpec spec = new BlockSpec(32, 2, 64, Activation.QUICK_GELU, NormKind.LAYER_NORM, 1e-5, false, false,
                true, false);
        try (Backend b = open(DType.FLOAT32, "onednn"); Parameters p = weights(b, spec, 4);
             TensorScope s = b.newScope()) {
            TransformerBlock fused = b.layers().block(spec, p, b.ops());
            Tensor w = b.autograd().requireGrad(p.get("mlp.fc1.weight"));
            Tensor y = fused.forward(b.fromHost(tokens(2, 5, 32, 2)), null);
            b.autograd().backward(b.ops().sum(b.ops().mul(y, y)));
            Tensor g = b.autograd().grad(w);
            assertNotNull(g, "fc1's weight has a gradient");
            float[] gv = g.toHost().floats();
            double norm = 0;
            for (float v : gv) {
                norm += v * v;
            }
            assertTrue(norm > 0 && Double.isFinite(norm), "gradient norm " + norm);
        }
    }

    @Test
    void linearOnParametersMatchesLibtorch() {
        Random r = new Random(9);
        float[] w = new float[48 * 40];
        float[] bias = new float[48];
        float[] x = new float[2 * 7 * 40];
        for (float[] a : new float[][] {w, bias, x}) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
        }
        for (DType t : new DType[] {DType.FLOAT32, DType.BFLOAT16}) {
            HostTensor got;
            HostTensor want;
            try (Backend b = open(t, "onednn"); Tensor wt = b.parameter("w", HostTensor.ofFloats(w, 48, 40));
                 Tensor bt = b.parameter("b", HostTensor.ofFloats(bias, 48)); TensorScope s = b.newScope()) {
                got = b.ops().linear(b.fromHost(HostTensor.ofFloats(x, 2, 7, 40)), wt, bt).toHost();
            }
            try (Backend b = plain(t);
                 Tensor wt = b.parameter("w", HostTensor.ofFloats(w, 48, 40));
                 Tensor bt = b.parameter("b", HostTensor.ofFloats(bias, 48)); TensorScope s = b.newScope()) {
                assertTrue(b.description().contains("OpenBLAS"), b.description());
                want = b.ops().linear(b.fromHost(HostTensor.ofFloats(x, 2, 7, 40)), wt, bt).toHost();
            }
            assertEquals(java.util.List.of(2L, 7L, 48L), java.util.Arrays.stream(got.shape()).boxed().toList());
            Tolerance.Comparison c = (t == DType.FLOAT32 ? Tolerance.FLOAT32 : Tolerance.BFLOAT16).compare(got, want);
            assertTrue(c.ok(), t + ": " + c.message());
        }
    }

    @Test
    void oneDnnDescribesItselfAndTheThreadPolicy() {
        try (Backend b = open(DType.FLOAT32, "onednn")) {
            String d = b.description();
            assertTrue(d.contains("oneDNN") && d.contains("OpenBLAS"), d);
        }
    }
}
