package dev.visiontower.models.clip;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.ContrastiveHead;

/** CLIP's head: {@code exp(logit_scale) * cos}, softmax probabilities, symmetric cross-entropy. */
final class ClipHead implements ContrastiveHead {
    private final Backend backend;
    private final Tensor logScale;

    ClipHead(Backend backend, Tensor logScale) {
        this.backend = backend;
        this.logScale = logScale;
    }

    @Override
    public Probability probability() {
        return Probability.SOFTMAX;
    }

    @Override
    public Tensor logitsPerImage(Tensor imageEmbeds, Tensor textEmbeds) {
        try (TensorScope s = backend.newScope()) {
            return s.keep(ClipLoss.logitsPerImage(backend.ops(), imageEmbeds, textEmbeds, backend.ops().exp(logScale)));
        }
    }

    @Override
    public Tensor loss(Tensor imageEmbeds, Tensor textEmbeds) {
        try (TensorScope s = backend.newScope()) {
            return s.keep(ClipLoss.loss(backend.ops(), imageEmbeds, textEmbeds, backend.ops().exp(logScale)));
        }
    }

    @Override
    public java.util.Map<String, Tensor> parameters() {
        return java.util.Map.of("logit_scale", logScale);
    }

    @Override
    public void close() {
        logScale.close();
    }
}
