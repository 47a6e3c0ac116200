package dev.visiontower.api.train;

import dev.visiontower.api.HostTensor;

/**
 * AdamW with decoupled weight decay, step for step as {@code torch.optim.AdamW} (single-tensor path) computes it in
 * float32: {@code p *= 1 - lr*wd}; {@code m += (1-b1)(g - m)}; {@code v = b2 v + (1-b2) g g};
 * {@code p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)}, with the bias corrections in double
 * precision. Runs on the host over each parameter's values; one instance holds the state of one tensor.
 */
public final class AdamW {
    /**
     * Hyper-parameters.
     *
     * @param beta1 first-moment decay
     * @param beta2 second-moment decay
     * @param eps   added to the root of the second moment
     */
    public record Betas(double beta1, double beta2, double eps) {
        public static final Betas CLIP = new Betas(0.9, 0.98, 1e-6);
    }

    private final float[] m;
    private final float[] v;
    private int step;

    public AdamW(int size) {
        this.m = new float[size];
        this.v = new float[size];
    }

    /** Restores saved state. */
    public AdamW(float[] m, float[] v, int step) {
        this.m = m.clone();
        this.v = v.clone();
        this.step = step;
    }

    public float[] firstMoment() {
        return m.clone();
    }

    public float[] secondMoment() {
        return v.clone();
    }

    public int step() {
        return step;
    }

    /**
     * One update of {@code param} (in place) from {@code grad}.
     *
     * @param weightDecay decoupled decay for this tensor (0 for the excluded group)
     */
    public void update(float[] param, float[] grad, double lr, double weightDecay, Betas betas) {
        if (param.length != m.length || grad.length != m.length) {
            throw new IllegalArgumentException("AdamW state holds " + m.length + " values, got " + param.length
                    + " parameters and " + grad.length + " gradients");
        }
        step++;
        float decay = (float) (1 - lr * weightDecay);
        float w1 = (float) (1 - betas.beta1());
        float b2 = (float) betas.beta2();
        float w2 = (float) (1 - betas.beta2());
        double bc1 = 1 - Math.pow(betas.beta1(), step);
        double bc2 = 1 - Math.pow(betas.beta2(), step);
        float stepSize = (float) -(lr / bc1);
        float bc2Sqrt = (float) Math.sqrt(bc2);
        float eps = (float) betas.eps();
        for (int i = 0; i < param.length; i++) {
            float p = weightDecay != 0 ? param[i] * decay : param[i];
            float g = grad[i];
            m[i] = m[i] + w1 * (g - m[i]);
            v[i] = v[i] * b2 + w2 * g * g;
            float denom = (float) Math.sqrt(v[i]) / bc2Sqrt + eps;
            param[i] = p + stepSize * (m[i] / denom);
        }
    }

    /** {@code open_clip}'s weight-decay rule on a checkpoint tensor's name and shape. */
    public static boolean decays(String checkpointName, long[] checkpointShape) {
        return !(checkpointShape.length < 2 || checkpointName.contains("bn") || checkpointName.contains("ln")
                || checkpointName.contains("bias") || checkpointName.contains("logit_scale"));
    }

    /** Convenience: applies {@link #update} to a host tensor's copy and returns it. */
    public HostTensor update(HostTensor param, HostTensor grad, double lr, double weightDecay, Betas betas) {
        float[] p = param.floats().clone();
        update(p, grad.floats(), lr, weightDecay, betas);
        return HostTensor.ofFloats(p, param.shape());
    }
}
