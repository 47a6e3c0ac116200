package dev.visiontower.api.train;

import dev.visiontower.api.Autograd;
import dev.visiontower.api.Backend;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.text.Encoding;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Optimisation of a dual encoder with its family's contrastive loss: the forward pass of the inference model,
 * gradients from the backend's autograd, AdamW with open_clip's weight-decay groups, optional global-norm gradient
 * clipping, and the logit scale clamped to {@code [0, ln 100]} after every step.
 */
public final class ContrastiveTrainer {
    /** open_clip's clamp of the log logit scale. */
    public static final double MAX_LOG_SCALE = Math.log(100);

    private final TrainableDualEncoder model;
    private final Backend backend;
    private final Autograd autograd;
    private final AdamW.Betas betas;
    private final double weightDecay;
    private final Map<String, AdamW> state = new LinkedHashMap<>();

    /** The result of a forward and backward pass. */
    public record Gradients(float loss, Map<String, HostTensor> byParameter) {
    }

    public ContrastiveTrainer(TrainableDualEncoder model, Backend backend, AdamW.Betas betas, double weightDecay) {
        this.model = model;
        this.backend = backend;
        this.autograd = backend.autograd();
        this.betas = betas;
        this.weightDecay = weightDecay;
        for (TrainableParameter p : model.parameters()) {
            autograd.requireGrad(p.tensor());
            state.put(p.name(), new AdamW((int) dev.visiontower.api.Shapes.numel(p.tensor().shape())));
        }
    }

    public Map<String, AdamW> optimizerState() {
        return state;
    }

    /** Replaces the optimizer state (resuming). */
    public void restore(Map<String, AdamW> saved) {
        for (Map.Entry<String, AdamW> e : saved.entrySet()) {
            if (state.containsKey(e.getKey())) {
                state.put(e.getKey(), e.getValue());
            }
        }
    }

    /** The loss (image {@code i} paired with text {@code i}) and every parameter's gradient. */
    public Gradients gradients(HostTensor pixels, Encoding text) {
        float loss;
        try (TensorScope s = backend.newScope()) {
            Tensor img = backend.ops().l2Normalize(model.vision().forward(backend.fromHost(pixels),
                    ForwardOptions.DEFAULT).embedding(), -1, 1e-12);
            Tensor ids = backend.fromHost(text.inputIds());
            Tensor mask = text.attentionMask() == null ? null : backend.fromHost(text.attentionMask());
            Tensor txt = backend.ops().l2Normalize(model.text().forward(ids, mask, false).embedding(), -1, 1e-12);
            Tensor l = model.head().loss(img, txt);
            loss = l.toHost().floats()[0];
            autograd.backward(l);
        }
        Map<String, HostTensor> grads = new LinkedHashMap<>();
        for (TrainableParameter p : model.parameters()) {
            try (Tensor g = autograd.grad(p.tensor())) {
                grads.put(p.name(), g == null ? HostTensor.ofFloats(new float[(int) dev.visiontower.api.Shapes.numel(
                        p.tensor().shape())], p.tensor().shape()) : g.toHost());
            }
            autograd.zeroGrad(p.tensor());
        }
        return new Gradients(loss, grads);
    }

    /** Scales gradients so their global L2 norm is at most {@code maxNorm}; returns the norm before clipping. */
    public static double clip(Map<String, HostTensor> grads, double maxNorm) {
        double sq = 0;
        for (HostTensor g : grads.values()) {
            for (float v : g.floats()) {
                sq += (double) v * v;
            }
        }
        double norm = Math.sqrt(sq);
        if (maxNorm > 0 && norm > maxNorm) {
            float f = (float) (maxNorm / (norm + 1e-6));
            for (HostTensor g : grads.values()) {
                float[] v = g.floats();
                for (int i = 0; i < v.length; i++) {
                    v[i] *= f;
                }
            }
        }
        return norm;
    }

    /** One AdamW update with learning rate {@code lr}, then the logit-scale clamp. */
    public void apply(Map<String, HostTensor> grads, double lr) {
        for (TrainableParameter p : model.parameters()) {
            HostTensor value = p.tensor().toHost();
            float[] v = value.floats().clone();
            state.get(p.name()).update(v, grads.get(p.name()).floats(), lr, p.decays() ? weightDecay : 0, betas);
            if (p.name().equals("head.logit_scale")) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) Math.max(0, Math.min(MAX_LOG_SCALE, v[i]));
                }
            }
            autograd.assign(p.tensor(), HostTensor.ofFloats(v, value.shape()));
        }
    }

    /** {@link #gradients}, optional clipping, {@link #apply}; returns the loss before the update. */
    public float step(HostTensor pixels, Encoding text, double lr, double clipNorm) {
        Gradients g = gradients(pixels, text);
        if (clipNorm > 0) {
            clip(g.byParameter(), clipNorm);
        }
        apply(g.byParameter(), lr);
        return g.loss();
    }
}
