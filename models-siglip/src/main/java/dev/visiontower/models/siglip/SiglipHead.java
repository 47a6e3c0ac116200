package dev.visiontower.models.siglip;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.ContrastiveHead;

/** SigLIP's head: {@code exp(logit_scale) * cos + logit_bias}, sigmoid probabilities, pairwise sigmoid loss. */
final class SiglipHead implements ContrastiveHead {
    private final Backend backend;
    private final Tensor logScale;
    private final Tensor bias;

    SiglipHead(Backend backend, Tensor logScale, Tensor bias) {
        this.backend = backend;
        this.logScale = logScale;
        this.bias = bias;
    }

    @Override
    public Probability probability() {
        return Probability.SIGMOID;
    }

    @Override
    public Tensor logitsPerImage(Tensor imageEmbeds, Tensor textEmbeds) {
        try (TensorScope s = backend.newScope()) {
            return s.keep(SiglipLoss.logitsPerImage(backend.ops(), imageEmbeds, textEmbeds,
                    backend.ops().exp(logScale), bias));
        }
    }

    @Override
    public Tensor loss(Tensor imageEmbeds, Tensor textEmbeds) {
        try (TensorScope s = backend.newScope()) {
            return s.keep(SiglipLoss.loss(backend.ops(), imageEmbeds, textEmbeds, backend.ops().exp(logScale), bias));
        }
    }

    @Override
    public java.util.Map<String, Tensor> parameters() {
        java.util.Map<String, Tensor> m = new java.util.LinkedHashMap<>();
        m.put("logit_scale", logScale);
        m.put("logit_bias", bias);
        return m;
    }

    @Override
    public void close() {
        logScale.close();
        bias.close();
    }
}
