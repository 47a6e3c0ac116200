package dev.visiontower.backend.onnx;

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
import dev.visiontower.api.nn.TransformerBlock;
import dev.visiontower.api.spi.BackendOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Blocks on ONNX Runtime's transformer operators against the same blocks as standard operators ({@code fusions=none}),
 * two blocks in a row (so the second fuses the first one's residual add into its norm), every variant; and int8
 * products against float32 ones.
 */
class OrtBlockTest {

    private static Backend open(DType dtype, String fusions) {
        return Backends.open("onnx", new BackendOptions(Device.CPU, dtype, 0, Map.of("fusions", fusions)));
    }

    private static Map<String, HostTensor> weights(BlockSpec spec, String prefix, long seed) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        spec.parameterShapes(prefix, shapes);
        Random r = new Random(seed);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) {
                n *= d;
            }
            float[] v = new float[(int) n];
            boolean norm = e.getKey().contains("norm") || e.getKey().contains("ls");
            for (int i = 0; i < v.length; i++) {
                v[i] = norm ? (float) (1 + 0.1 * r.nextGaussian()) : (float) (0.08 * r.nextGaussian());
            }
            out.put(e.getKey(), HostTensor.ofFloats(v, e.getValue()));
        }
        return out;
    }

    /** Two blocks in a row on {@code fusions}, the output read back. */
    private static HostTensor twoBlocks(DType dtype, String fusions, BlockSpec spec, boolean masked) {
        Map<String, HostTensor> w = new LinkedHashMap<>(weights(spec, "0.", 1));
        w.putAll(weights(spec, "1.", 2));
        Random r = new Random(3);
        float[] x = new float[2 * 9 * spec.width()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        try (Backend b = open(dtype, fusions)) {
            Map<String, Tensor> params = new LinkedHashMap<>();
            w.forEach((k, v) -> params.put(k, b.parameter(k, v)));
            try (Parameters p = new Parameters(params); TensorScope s = b.newScope()) {
                TransformerBlock first = b.layers().block(spec, p.view("0."), b.ops());
                TransformerBlock second = b.layers().block(spec, p.view("1."), b.ops());
                Tensor mask = null;
                if (masked) {
                    long[] keep = new long[2 * 9];
                    for (int i = 0; i < keep.length; i++) {
                        keep[i] = i < 9 || i % 9 < 6 ? 1 : 0; // the second row pads its last 3 tokens
                    }
                    mask = b.ops().paddingMask(b.fromHost(HostTensor.ofLongs(keep, 2, 9)));
                }
                Tensor in = b.fromHost(HostTensor.ofFloats(x, 2, 9, spec.width()));
                return second.forward(first.forward(in, mask), mask).toHost();
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} ls={2} qkNorm={3} qkvBias={4} causal={5} mask={6}")
    @CsvSource({
        "LAYER_NORM, QUICK_GELU, false, false, true, false, false",
        "LAYER_NORM, GELU, true, false, true, false, false",
        "LAYER_NORM, GELU_TANH, false, false, false, false, false",
        "RMS_NORM, GELU, true, true, false, false, false",
        "LAYER_NORM, GELU, false, false, true, true, true",
        "LAYER_NORM, QUICK_GELU, false, false, true, false, true",
    })
    void transformerOperatorsMatchStandardOperators(NormKind norm, Activation act, boolean layerScale,
                                                    boolean qkNorm, boolean qkvBias, boolean causal, boolean masked) {
        BlockSpec spec = new BlockSpec(48, 4, 96, act, norm, 1e-5, layerScale, qkNorm, qkvBias, causal);
        HostTensor plain = twoBlocks(DType.FLOAT32, "none", spec, masked);
        for (String f : new String[] {"all", "attention", "skip_layer_norm", "bias_gelu"}) {
            HostTensor fused = twoBlocks(DType.FLOAT32, f, spec, masked);
            Tolerance.Comparison c = Tolerance.FLOAT32.compare(fused, plain);
            System.out.println(spec + " fusions=" + f + ": " + c.message());
            assertTrue(c.ok(), "fusions=" + f + ": " + c.message());
        }
    }

    /** A mask with a value per head cannot be MultiHeadAttention's bias: the block keeps the reference attention. */
    @Test
    void perHeadMaskTakesTheReferenceAttention() {
        BlockSpec spec = new BlockSpec(32, 2, 64, Activation.GELU, NormKind.LAYER_NORM, 1e-5, false, false, true,
                false);
        Map<String, HostTensor> w = weights(spec, "", 4);
        Random r = new Random(8);
        float[] m = new float[2 * 2 * 5 * 5];
        for (int i = 0; i < m.length; i++) {
            m[i] = r.nextFloat() < 0.2 ? -1e9f : 0f;
        }
        float[] x = new float[2 * 5 * 32];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        HostTensor[] out = new HostTensor[2];
        String[] fusions = {"none", "all"};
        for (int k = 0; k < 2; k++) {
            try (Backend b = open(DType.FLOAT32, fusions[k])) {
                Map<String, Tensor> params = new LinkedHashMap<>();
                w.forEach((name, v) -> params.put(name, b.parameter(name, v)));
                try (Parameters p = new Parameters(params); TensorScope s = b.newScope()) {
                    out[k] = b.layers().block(spec, p, b.ops()).forward(b.fromHost(HostTensor.ofFloats(x, 2, 5, 32)),
                            b.fromHost(HostTensor.ofFloats(m, 2, 2, 5, 5))).toHost();
                }
            }
        }
        Tolerance.Comparison c = Tolerance.FLOAT32.compare(out[1], out[0]);
        assertTrue(c.ok(), c.message());
    }

    @Test
    void int8ProductsStayCloseToFloat32() {
        BlockSpec spec = new BlockSpec(64, 4, 128, Activation.GELU, NormKind.LAYER_NORM, 1e-5, false, false, true,
                false);
        HostTensor f32 = twoBlocks(DType.FLOAT32, "all", spec, false);
        for (String f : new String[] {"all", "none"}) {
            HostTensor q = twoBlocks(DType.INT8, f, spec, false);
            Tolerance.Comparison c = Tolerance.INT8.compare(q, f32);
            System.out.println("int8 fusions=" + f + ": " + c.message());
            assertTrue(c.ok() && c.cosine() >= Tolerance.INT8_MIN_COSINE, c.message());
        }
    }

    @Test
    void quantisationIsSymmetricPerOutputChannel() {
        HostTensor w = HostTensor.ofFloats(new float[] {1f, -0.5f, 0.25f, 0f, 0f, 0f, -3f, 1.5f, 0.03f}, 3, 3);
        HostTensor[] q = ProductWeight.quantize(w, 127);
        assertArrayEquals(new long[] {3, 3}, q[0].shape());
        assertArrayEquals(new float[] {1f / 127, 1f, 3f / 127}, q[1].floats(), 1e-7f);
        byte[] v = q[0].bytes(); // transposed: [K, N]
        assertEquals(127, v[0]);
        assertEquals(-63, v[3]); // -0.5 / (1/127) = -63.5, rounded half up
        assertEquals(0, v[1]);    // the all-zero row keeps scale 1 and zeros
        assertEquals(-127, v[2]);
        assertEquals(64, v[5]);  // 1.5 / (3/127) = 63.5
    }

    @Test
    void unknownFusionIsABadInputError() {
        assertThrows(dev.visiontower.api.InvalidInputException.class, () -> open(DType.FLOAT32, "attention,bogus"));
    }
}
