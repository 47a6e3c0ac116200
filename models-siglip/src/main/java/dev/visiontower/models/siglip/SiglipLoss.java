package dev.visiontower.models.siglip;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;

/**
 * SigLIP's pairwise sigmoid loss: {@code L = scale * I T^T + bias}, {@code z = +1} on the diagonal and {@code -1}
 * elsewhere, {@code loss = -sum(log sigmoid(z * L)) / N} (N pairs). Written with backend operations.
 */
public final class SiglipLoss {
    private SiglipLoss() {
    }

    /** {@code logits_per_image = scale * image @ text^T + bias}; {@code scale} is exponentiated (0-dim or [1]). */
    public static Tensor logitsPerImage(Ops ops, Tensor image, Tensor text, Tensor scale, Tensor bias) {
        return ops.add(ops.mul(ops.matmul(image, ops.permute(text, 1, 0)), scale), bias);
    }

    /** The loss (0-dim). */
    public static Tensor loss(Ops ops, Tensor image, Tensor text, Tensor scale, Tensor bias) {
        try (TensorScope s = image.backend().newScope()) {
            Tensor logits = logitsPerImage(ops, image, text, scale, bias);
            int n = (int) logits.dim(0);
            int m = (int) logits.dim(1);
            float[] z = new float[n * m];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    z[i * m + j] = i == j ? 1f : -1f;
                }
            }
            Tensor labels = image.backend().fromHost(HostTensor.ofFloats(z, n, m));
            return s.keep(ops.scale(ops.sum(ops.logSigmoid(ops.mul(labels, logits))), -1.0 / n));
        }
    }
}
