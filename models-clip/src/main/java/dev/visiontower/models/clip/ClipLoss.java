package dev.visiontower.models.clip;

import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;

/**
 * CLIP's symmetric contrastive loss: with {@code L = scale * I T^T} (I, T L2-normalised, row i of each a pair),
 * {@code loss = (CE(L, arange) + CE(L^T, arange)) / 2}, where {@code CE(X, arange) = -mean_i log_softmax(X)_ii}.
 * Written with backend operations, so it is differentiable wherever the backend trains.
 */
public final class ClipLoss {
    private ClipLoss() {
    }

    /** {@code logits_per_image = scale * image @ text^T}; {@code scale} is the exponentiated logit scale (0-dim). */
    public static Tensor logitsPerImage(Ops ops, Tensor image, Tensor text, Tensor scale) {
        return ops.mul(ops.matmul(image, ops.permute(text, 1, 0)), scale);
    }

    /** The loss (0-dim); {@code scale} is the exponentiated logit scale. */
    public static Tensor loss(Ops ops, Tensor image, Tensor text, Tensor scale) {
        try (TensorScope s = image.backend().newScope()) {
            Tensor logits = logitsPerImage(ops, image, text, scale);
            long n = logits.dim(0);
            Tensor perImage = ops.sum(ops.diagonal(ops.logSoftmax(logits, 1)));
            Tensor perText = ops.sum(ops.diagonal(ops.logSoftmax(logits, 0)));
            return s.keep(ops.scale(ops.add(perImage, perText), -0.5 / n));
        }
    }
}
