package dev.visiontower.api.train;

import dev.visiontower.api.Autograd;
import dev.visiontower.api.Backend;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.text.Encoding;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

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
    /** The autocast dtype of the forward pass, or null for float32 throughout. */
    private dev.visiontower.api.DType autocast;
    /** Whether activations inside the towers are recomputed in the backward pass instead of kept. */
    private boolean checkpointing;

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

    /**
     * Computes the forward pass and the loss in mixed precision ({@link Autograd#autocast}): {@code bfloat16} or
     * {@code float16}; {@code float32} or null turns it off. Weights, gradients and optimizer state stay float32.
     *
     * @throws dev.visiontower.api.UnsupportedCapabilityException when the backend has no mixed precision
     */
    public ContrastiveTrainer mixedPrecision(dev.visiontower.api.DType dtype) {
        if (dtype == null || dtype == dev.visiontower.api.DType.FLOAT32) {
            autocast = null;
        } else {
            autograd.autocast(dtype).close(); // fails now, not at the first step, if the backend cannot
            autocast = dtype;
        }
        return this;
    }

    /**
     * Gradient checkpointing: the forward pass keeps only each block's input, and every block is run a second time,
     * recorded, while the gradient flows back through it, so the memory for activations is that of one block (plus
     * the kept inputs) instead of the whole towers, for about a third more computation. Gradients are the same.
     */
    public ContrastiveTrainer gradientCheckpointing(boolean on) {
        if (on) {
            autograd.noGrad().close(); // fails now, not at the first step, if the backend cannot
        }
        checkpointing = on;
        return this;
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
        float loss = checkpointing ? checkpointedBackward(pixels, text) : plainBackward(pixels, text);
        return collect(loss);
    }

    private Autograd.Region mixed() {
        return autocast == null ? null : autograd.autocast(autocast);
    }

    private float plainBackward(HostTensor pixels, Encoding text) {
        float loss;
        try (TensorScope s = backend.newScope()) {
            Tensor l;
            try (Autograd.Region mixed = autocast == null ? null : autograd.autocast(autocast)) {
                Tensor img = backend.ops().l2Normalize(model.vision().forward(backend.fromHost(pixels),
                        ForwardOptions.DEFAULT).embedding(), -1, 1e-12);
                Tensor ids = backend.fromHost(text.inputIds());
                Tensor mask = text.attentionMask() == null ? null : backend.fromHost(text.attentionMask());
                Tensor txt = backend.ops().l2Normalize(model.text().forward(ids, mask, false).embedding(), -1, 1e-12);
                l = model.head().loss(img, txt);
            }
            loss = l.toHost().floats()[0];
            autograd.backward(l);
        }
        return loss;
    }

    /** See {@link #gradientCheckpointing}: towers as stages, heads and loss first, then each stage backwards. */
    private float checkpointedBackward(HostTensor pixels, Encoding text) {
        try (TensorScope s = backend.newScope()) {
            Tensor px = backend.fromHost(pixels);
            Tensor ids = backend.fromHost(text.inputIds());
            Tensor mask = text.attentionMask() == null ? null : backend.fromHost(text.attentionMask());
            List<UnaryOperator<Tensor>> vs = model.vision().stages(ForwardOptions.DEFAULT);
            List<UnaryOperator<Tensor>> ts = model.text().stages(ids, mask);
            Tensor[] va = unrecorded(vs, px);
            Tensor[] ta = unrecorded(ts, ids);
            Tensor vIn = autograd.detachRequiringGrad(va[va.length - 1]);
            Tensor tIn = autograd.detachRequiringGrad(ta[ta.length - 1]);
            Tensor l;
            try (Autograd.Region m = mixed()) {
                Tensor img = backend.ops().l2Normalize(vs.get(vs.size() - 1).apply(vIn), -1, 1e-12);
                Tensor txt = backend.ops().l2Normalize(ts.get(ts.size() - 1).apply(tIn), -1, 1e-12);
                l = model.head().loss(img, txt);
            }
            float loss = l.toHost().floats()[0];
            autograd.backward(l);
            backThrough(vs, va, autograd.grad(vIn));
            backThrough(ts, ta, autograd.grad(tIn));
            return loss;
        }
    }

    /** Runs every stage but the last without recording; element i is the input of stage i. */
    private Tensor[] unrecorded(List<UnaryOperator<Tensor>> stages, Tensor input) {
        Tensor[] in = new Tensor[stages.size()];
        Tensor x = input;
        try (Autograd.Region off = autograd.noGrad(); Autograd.Region m = mixed()) {
            for (int i = 0; i < stages.size() - 1; i++) {
                in[i] = x;
                x = stages.get(i).apply(x);
            }
        }
        in[stages.size() - 1] = x;
        return in;
    }

    /** Recomputes stages {@code n-2 .. 0} with recording, each from its kept input, and back-propagates. */
    private void backThrough(List<UnaryOperator<Tensor>> stages, Tensor[] in, Tensor grad) {
        for (int i = stages.size() - 2; i >= 0; i--) {
            Tensor upstream = grad;
            try (TensorScope step = backend.newScope()) {
                Tensor h = i == 0 ? in[0] : autograd.detachRequiringGrad(in[i]);
                Tensor y;
                try (Autograd.Region m = mixed()) {
                    y = stages.get(i).apply(h);
                }
                autograd.backward(y, upstream);
                grad = i == 0 ? null : step.keep(autograd.grad(h));
            }
            upstream.close(); // this stage's incoming gradient is spent
        }
    }

    private Gradients collect(float loss) {
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
