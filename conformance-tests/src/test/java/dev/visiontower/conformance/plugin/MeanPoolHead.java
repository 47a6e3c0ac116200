package dev.visiontower.conformance.plugin;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.ContrastiveHead;

import java.util.Map;

/**
 * The example family's head: {@code exp(logit_scale) * cos}, softmax probabilities and the symmetric cross-entropy,
 * written with {@link Ops} only, so it is differentiable on every backend that trains.
 */
final class MeanPoolHead implements ContrastiveHead {
    private final Backend backend;
    private final Tensor logScale;

    MeanPoolHead(Backend backend, Tensor logScale) {
        this.backend = backend;
        this.logScale = logScale;
    }

    @Override
    public Probability probability() {
        return Probability.SOFTMAX;
    }

    @Override
    public Tensor logitsPerImage(Tensor imageEmbeds, Tensor textEmbeds) {
        Ops ops = backend.ops();
        try (TensorScope s = backend.newScope()) {
            return s.keep(ops.mul(ops.matmul(imageEmbeds, ops.permute(textEmbeds, 1, 0)), ops.exp(logScale)));
        }
    }

    @Override
    public Tensor loss(Tensor imageEmbeds, Tensor textEmbeds) {
        Ops ops = backend.ops();
        try (TensorScope s = backend.newScope()) {
            Tensor logits = logitsPerImage(imageEmbeds, textEmbeds);
            Tensor both = ops.add(ops.sum(ops.diagonal(ops.logSoftmax(logits, 1))),
                    ops.sum(ops.diagonal(ops.logSoftmax(logits, 0))));
            return s.keep(ops.scale(both, -0.5 / logits.dim(0)));
        }
    }

    @Override
    public Map<String, Tensor> parameters() {
        return Map.of("logit_scale", logScale);
    }

    @Override
    public void close() {
        logScale.close();
    }
}
