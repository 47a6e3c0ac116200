package dev.visiontower.models.internvit;

import dev.visiontower.api.Autograd;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Safetensors;
import org.junit.jupiter.api.Test;

import java.nio.file.Paths;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InternVitLossesTest {
    static HostTensor randn(Random r, long... shape) {
        float[] v = new float[(int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return HostTensor.ofFloats(v, shape);
    }

    @Test
    void withoutSmoothingItIsOpenClipsClipLoss() {
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Safetensors io = Safetensors.open(Paths.get(System.getProperty("visiontower.testdata", "../testdata"))
                     .resolve("golden/loss_clip/io.safetensors"));
             TensorScope s = b.newScope()) {
            Tensor loss = InternVitLosses.contrastive(b.ops(), b.fromHost(io.read("image_features")),
                    b.fromHost(io.read("text_features")), b.fromHost(io.read("logit_scale")), 0.0);
            Tolerance.Comparison c = Tolerance.FLOAT32.compare(loss.toHost(), io.read("loss"));
            assertTrue(c.ok(), c.message());
        }
    }

    /** Label smoothing against a double-precision evaluation of the documented formula. */
    @Test
    void labelSmoothingMatchesTheFormula() {
        Random r = new Random(3);
        int n = 4;
        int d = 6;
        HostTensor img = randn(r, n, d);
        HostTensor txt = randn(r, n, d);
        double scale = 7.5;
        double e = 0.1;
        double[][] l = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double dot = 0;
                for (int k = 0; k < d; k++) {
                    dot += (double) img.floats()[i * d + k] * txt.floats()[j * d + k];
                }
                l[i][j] = scale * dot;
            }
        }
        double total = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < n; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    max = Math.max(max, pass == 0 ? l[i][j] : l[j][i]);
                }
                double z = 0;
                for (int j = 0; j < n; j++) {
                    z += Math.exp((pass == 0 ? l[i][j] : l[j][i]) - max);
                }
                double logZ = max + Math.log(z);
                double sumLogp = 0;
                for (int j = 0; j < n; j++) {
                    sumLogp += (pass == 0 ? l[i][j] : l[j][i]) - logZ;
                }
                total += -(1 - e) * (l[i][i] - logZ) - e * sumLogp / n;
            }
        }
        double expected = total / n / 2;
        try (Backend b = Backends.open("libtorch", Device.CPU); TensorScope s = b.newScope()) {
            Tensor loss = InternVitLosses.contrastive(b.ops(), b.fromHost(img), b.fromHost(txt),
                    b.fromHost(HostTensor.ofFloats(new float[] {(float) scale})), e);
            assertEquals(expected, loss.toHost().floats()[0], 1e-4 + 1e-4 * Math.abs(expected));
        }
    }

    @Test
    void distillationIsMinusOneForAlignedFeaturesAndTrainsTheMap() {
        Random r = new Random(5);
        try (Backend b = Backends.open("libtorch", Device.CPU); TensorScope s = b.newScope()) {
            Ops ops = b.ops();
            Tensor teacher = b.fromHost(randn(r, 2, 3, 8));
            Tensor scaled = ops.scale(teacher, 2.5);
            assertEquals(-1.0, InternVitLosses.distillation(ops, scaled, teacher, null, null).toHost().floats()[0], 1e-5);

            Autograd ag = b.autograd();
            Tensor student = b.fromHost(randn(r, 2, 3, 5));
            Tensor w = ag.requireGrad(b.fromHost(randn(r, 8, 5)));
            Tensor bias = ag.requireGrad(b.fromHost(randn(r, 8)));
            Tensor loss = InternVitLosses.distillation(ops, student, teacher, w, bias);
            float value = loss.toHost().floats()[0];
            assertTrue(value > -1 && value < 1, "cosine loss in (-1, 1): " + value);
            ag.backward(loss);
            float[] g = ag.grad(w).toHost().floats();
            assertTrue(java.util.stream.IntStream.range(0, g.length).anyMatch(i -> g[i] != 0), "map gets a gradient");
        }
    }
}
