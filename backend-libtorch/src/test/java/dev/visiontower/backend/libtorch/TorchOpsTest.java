package dev.visiontower.backend.libtorch;

import dev.visiontower.api.Activation;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.Tolerance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each libtorch operation against a double-precision Java reference. */
class TorchOpsTest {
    static Backend backend;
    static Ops ops;
    final Random rnd = new Random(42);

    @BeforeAll
    static void open() {
        backend = Backends.open("libtorch", Device.CPU);
        ops = backend.ops();
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    float[] randn(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * scale);
        }
        return v;
    }

    static void assertClose(float[] expected, Tensor actual, long... shape) {
        HostTensor a = actual.toHost();
        assertArrayEquals(shape, a.shape());
        Tolerance.Comparison c = Tolerance.FLOAT32.compare(a, HostTensor.ofFloats(expected, shape));
        assertTrue(c.ok(), c.message());
    }

    @Test
    void roundTripKeepsValuesAndDtype() {
        float[] v = {1, 2, 3, 4, 5, 6};
        try (Tensor t = backend.fromHost(HostTensor.ofFloats(v, 2, 3))) {
            assertEquals(DType.FLOAT32, t.dtype());
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertArrayEquals(v, t.toHost().floats());
        }
        try (Tensor t = backend.fromHost(HostTensor.ofLongs(new long[] {1, -2}, 2))) {
            assertEquals(DType.INT64, t.dtype());
            assertArrayEquals(new long[] {1, -2}, t.toHost().longs());
        }
    }

    @Test
    void linearMatchesReference() {
        int b = 3, in = 5, out = 4;
        float[] x = randn(b * in, 1), w = randn(out * in, 0.5), bias = randn(out, 0.2);
        float[] ref = new float[b * out];
        for (int i = 0; i < b; i++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int k = 0; k < in; k++) {
                    s += (double) x[i * in + k] * w[o * in + k];
                }
                ref[i * out + o] = (float) s;
            }
        }
        try (TensorScope s = backend.newScope()) {
            Tensor y = ops.linear(backend.fromHost(HostTensor.ofFloats(x, b, in)),
                    backend.fromHost(HostTensor.ofFloats(w, out, in)), backend.fromHost(HostTensor.ofFloats(bias, out)));
            assertClose(ref, y, b, out);
        }
    }

    @Test
    void normsMatchReferenceWithTinyVariance() {
        int rows = 4, d = 7;
        float[] x = randn(rows * d, 1e-3);
        for (int i = 0; i < d; i++) {
            x[i] = 5f; // a row with zero variance
        }
        float[] w = randn(d, 1), b = randn(d, 1);
        double eps = 1e-5;
        float[] ln = new float[rows * d];
        float[] rms = new float[rows * d];
        for (int r = 0; r < rows; r++) {
            double mean = 0, sq = 0;
            for (int i = 0; i < d; i++) {
                mean += x[r * d + i];
                sq += (double) x[r * d + i] * x[r * d + i];
            }
            mean /= d;
            double var = 0;
            for (int i = 0; i < d; i++) {
                var += Math.pow(x[r * d + i] - mean, 2);
            }
            var /= d;
            for (int i = 0; i < d; i++) {
                ln[r * d + i] = (float) ((x[r * d + i] - mean) / Math.sqrt(var + eps) * w[i] + b[i]);
                rms[r * d + i] = (float) (x[r * d + i] / Math.sqrt(sq / d + eps) * w[i]);
            }
        }
        try (TensorScope s = backend.newScope()) {
            Tensor tx = backend.fromHost(HostTensor.ofFloats(x, rows, d));
            Tensor tw = backend.fromHost(HostTensor.ofFloats(w, d));
            assertClose(ln, ops.layerNorm(tx, tw, backend.fromHost(HostTensor.ofFloats(b, d)), eps), rows, d);
            assertClose(rms, ops.rmsNorm(tx, tw, eps), rows, d);
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationsMatchReference(Activation a) {
        float[] x = randn(64, 3);
        float[] ref = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            ref[i] = (float) a.apply(x[i]);
        }
        try (TensorScope s = backend.newScope()) {
            assertClose(ref, ops.activation(backend.fromHost(HostTensor.ofFloats(x, 8, 8)), a), 8, 8);
        }
    }

    @Test
    void softmaxIsStableForLargeLogits() {
        float[] x = {1000f, 1001f, 999f, -1000f, 0f, 1f};
        float[] ref = new float[6];
        for (int r = 0; r < 2; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < 3; i++) {
                max = Math.max(max, x[r * 3 + i]);
            }
            for (int i = 0; i < 3; i++) {
                sum += Math.exp(x[r * 3 + i] - max);
            }
            for (int i = 0; i < 3; i++) {
                ref[r * 3 + i] = (float) (Math.exp(x[r * 3 + i] - max) / sum);
            }
        }
        try (TensorScope s = backend.newScope()) {
            assertClose(ref, ops.softmax(backend.fromHost(HostTensor.ofFloats(x, 2, 3)), -1), 2, 3);
        }
    }

    @Test
    void attentionMatchesReferenceWithOddHeadDimAndCausalMask() {
        int b = 2, h = 3, n = 5, dh = 7;
        float[] q = randn(b * h * n * dh, 1), k = randn(b * h * n * dh, 1), v = randn(b * h * n * dh, 1);
        double scale = 1 / Math.sqrt(dh);
        for (boolean causal : new boolean[] {false, true}) {
            float[] ref = new float[q.length];
            for (int bh = 0; bh < b * h; bh++) {
                int base = bh * n * dh;
                for (int i = 0; i < n; i++) {
                    double[] p = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        double dot = 0;
                        for (int c = 0; c < dh; c++) {
                            dot += (double) q[base + i * dh + c] * k[base + j * dh + c];
                        }
                        p[j] = causal && j > i ? Double.NEGATIVE_INFINITY : dot * scale;
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    for (int c = 0; c < dh; c++) {
                        double acc = 0;
                        for (int j = 0; j < n; j++) {
                            acc += p[j] / sum * v[base + j * dh + c];
                        }
                        ref[base + i * dh + c] = (float) acc;
                    }
                }
            }
            try (TensorScope s = backend.newScope()) {
                Tensor out = ops.attention(backend.fromHost(HostTensor.ofFloats(q, b, h, n, dh)),
                        backend.fromHost(HostTensor.ofFloats(k, b, h, n, dh)),
                        backend.fromHost(HostTensor.ofFloats(v, b, h, n, dh)), null, causal, scale);
                assertClose(ref, out, b, h, n, dh);
            }
        }
    }

    @Test
    void patchEmbedIsRowMajorOverTheGrid() {
        int b = 2, c = 3, hgt = 8, wid = 12, p = 4, d = 5;
        float[] x = randn(b * c * hgt * wid, 1), w = randn(d * c * p * p, 0.3), bias = randn(d, 0.1);
        int gh = hgt / p, gw = wid / p;
        float[] ref = new float[b * gh * gw * d];
        for (int n = 0; n < b; n++) {
            for (int gy = 0; gy < gh; gy++) {
                for (int gx = 0; gx < gw; gx++) {
                    for (int o = 0; o < d; o++) {
                        double s = bias[o];
                        for (int ch = 0; ch < c; ch++) {
                            for (int ky = 0; ky < p; ky++) {
                                for (int kx = 0; kx < p; kx++) {
                                    s += (double) x[((n * c + ch) * hgt + gy * p + ky) * wid + gx * p + kx]
                                            * w[((o * c + ch) * p + ky) * p + kx];
                                }
                            }
                        }
                        ref[((n * gh + gy) * gw + gx) * d + o] = (float) s;
                    }
                }
            }
        }
        try (TensorScope s = backend.newScope()) {
            Tensor out = ops.patchEmbed(backend.fromHost(HostTensor.ofFloats(x, b, c, hgt, wid)),
                    backend.fromHost(HostTensor.ofFloats(w, d, c, p, p)), backend.fromHost(HostTensor.ofFloats(bias, d)), p);
            assertClose(ref, out, b, gh * gw, d);
        }
    }

    /** PyTorch bicubic (A = -0.75, align_corners=False, clamped border taps). */
    static double cubic(double x) {
        double a = -0.75;
        x = Math.abs(x);
        if (x <= 1) {
            return ((a + 2) * x - (a + 3)) * x * x + 1;
        }
        if (x < 2) {
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        }
        return 0;
    }

    static float[] bicubicRef(float[] in, int c, int h, int w, int oh, int ow) {
        float[] out = new float[c * oh * ow];
        for (int ch = 0; ch < c; ch++) {
            for (int oy = 0; oy < oh; oy++) {
                double sy = (oy + 0.5) * h / oh - 0.5;
                int y0 = (int) Math.floor(sy);
                double ty = sy - y0;
                for (int ox = 0; ox < ow; ox++) {
                    double sx = (ox + 0.5) * w / ow - 0.5;
                    int x0 = (int) Math.floor(sx);
                    double tx = sx - x0;
                    double acc = 0;
                    for (int i = -1; i <= 2; i++) {
                        int yy = Math.min(Math.max(y0 + i, 0), h - 1);
                        double wy = cubic(i - ty);
                        for (int j = -1; j <= 2; j++) {
                            int xx = Math.min(Math.max(x0 + j, 0), w - 1);
                            acc += wy * cubic(j - tx) * in[(ch * h + yy) * w + xx];
                        }
                    }
                    out[(ch * oh + oy) * ow + ox] = (float) acc;
                }
            }
        }
        return out;
    }

    @Test
    void bicubicResizeMatchesPyTorchSemantics() {
        int c = 3, h = 4, w = 5;
        float[] x = randn(c * h * w, 1);
        try (TensorScope s = backend.newScope()) {
            Tensor t = backend.fromHost(HostTensor.ofFloats(x, 1, c, h, w));
            assertClose(bicubicRef(x, c, h, w, 7, 6), ops.resizeBicubic(t, 7, 6), 1, c, 7, 6);
            assertClose(bicubicRef(x, c, h, w, 2, 3), ops.resizeBicubic(t, 2, 3), 1, c, 2, 3);
            assertClose(x, ops.resizeBicubic(t, h, w), 1, c, h, w);
        }
    }

    @Test
    void shapeOpsAndReductions() {
        float[] x = {1, 2, 3, 4, 5, 6};
        try (TensorScope s = backend.newScope()) {
            Tensor t = backend.fromHost(HostTensor.ofFloats(x, 2, 3));
            assertClose(new float[] {1, 4, 2, 5, 3, 6}, ops.permute(t, 1, 0), 3, 2);
            assertClose(new float[] {2, 3, 5, 6}, ops.narrow(t, 1, 1, 2), 2, 2);
            assertClose(new float[] {2.5f, 3.5f, 4.5f}, ops.mean(t, 0), 3);
            assertClose(new float[] {1, 2, 3, 4, 5, 6, 1, 2, 3}, ops.concat(List.of(t, ops.narrow(t, 0, 0, 1)), 0), 3, 3);
            assertClose(new float[] {1, 2, 3, 1, 2, 3}, ops.expand(ops.narrow(t, 0, 0, 1), 2, 3), 2, 3);
            assertClose(new float[] {1, 2, 3, 4, 5, 6}, ops.reshape(t, 3, -1), 3, 2);
            double n0 = Math.sqrt(14), n1 = Math.sqrt(77);
            assertClose(new float[] {(float) (1 / n0), (float) (2 / n0), (float) (3 / n0), (float) (4 / n1),
                (float) (5 / n1), (float) (6 / n1)}, ops.l2Normalize(t, -1, 1e-12), 2, 3);
            assertClose(new float[] {2, 4, 6, 8, 10, 12}, ops.scale(t, 2), 2, 3);
            assertClose(new float[] {0, 0, 0, 0, 0, 0}, ops.sub(t, t), 2, 3);
        }
    }

    @Test
    void shapeErrorsAreClearAndLoseNothing() {
        try (TensorScope s = backend.newScope()) {
            Tensor x = backend.fromHost(HostTensor.ofFloats(new float[6], 2, 3));
            Tensor w = backend.fromHost(HostTensor.ofFloats(new float[8], 2, 4));
            String m = assertThrows(InvalidInputException.class, () -> ops.linear(x, w, null)).getMessage();
            assertTrue(m.contains("[2, 3]") && m.contains("[2, 4]"), m);
            String r = assertThrows(InvalidInputException.class, () -> ops.reshape(x, 4, 2)).getMessage();
            assertTrue(r.startsWith("libtorch: ") && !r.contains("Exception raised from"), r);
            assertArrayEquals(new float[6], x.toHost().floats());
        }
    }
}
