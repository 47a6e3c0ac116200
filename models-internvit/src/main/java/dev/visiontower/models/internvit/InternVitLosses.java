package dev.visiontower.models.internvit;

import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;

/**
 * InternVL's training losses for InternViT, written with backend operations (differentiable where the backend
 * trains).
 *
 * <ul>
 *   <li><b>Image-text contrastive (ITC)</b>, InternVL stage 2's form: with {@code L = s * I T^T} (L2-normalised rows,
 *       {@code s} the exponentiated logit scale) and label smoothing {@code e} over the {@code N} candidates,
 *       {@code CE_e(L) = mean_i[ -(1 - e) log p_ii - (e / N) sum_j log p_ij ]}, {@code p = softmax} along rows;
 *       {@code loss = (CE_e(L) + CE_e(L^T)) / 2}. With {@code e = 0} this is CLIP's loss.</li>
 *   <li><b>Feature distillation</b> (teacher-student, as InternViT-300M was distilled from InternViT-6B): student
 *       tokens {@code S [B, N, Ds]} are mapped to the teacher's width by a learned linear map {@code P} when
 *       {@code Ds != Dt} (identity otherwise), and {@code loss = -mean_{b,n} cos(P(S_bn), T_bn)}; it is -1 when every
 *       token matches the teacher's direction.</li>
 * </ul>
 */
public final class InternVitLosses {
    private InternVitLosses() {
    }

    /** The contrastive loss with label smoothing {@code smoothing} in [0, 1). */
    public static Tensor contrastive(Ops ops, Tensor image, Tensor text, Tensor scale, double smoothing) {
        if (smoothing < 0 || smoothing >= 1) {
            throw new InvalidInputException("label smoothing must be in [0, 1), got " + smoothing);
        }
        try (TensorScope s = image.backend().newScope()) {
            Tensor logits = ops.mul(ops.matmul(image, ops.permute(text, 1, 0)), scale);
            Tensor a = smoothedCrossEntropySum(ops, ops.logSoftmax(logits, 1), 1, smoothing);
            Tensor b = smoothedCrossEntropySum(ops, ops.logSoftmax(logits, 0), 0, smoothing);
            return s.keep(ops.scale(ops.add(a, b), 0.5 / logits.dim(0)));
        }
    }

    /** {@code sum_i [ -(1-e) logp_ii - e * mean_j logp_ij ]} with rows along {@code dim}. */
    private static Tensor smoothedCrossEntropySum(Ops ops, Tensor logp, int dim, double e) {
        Tensor nll = ops.scale(ops.sum(ops.diagonal(logp)), -(1 - e));
        if (e == 0) {
            return nll;
        }
        Tensor uniform = ops.scale(ops.sum(ops.mean(logp, dim)), -e);
        return ops.add(nll, uniform);
    }

    /**
     * The distillation loss.
     *
     * @param student    {@code [B, N, Ds]}
     * @param teacher    {@code [B, N, Dt]}
     * @param mapWeight  {@code [Dt, Ds]} learned map, or null when {@code Ds == Dt}
     * @param mapBias    {@code [Dt]} or null
     */
    public static Tensor distillation(Ops ops, Tensor student, Tensor teacher, Tensor mapWeight, Tensor mapBias) {
        long[] s = student.shape();
        long[] t = teacher.shape();
        if (s.length != 3 || t.length != 3 || s[0] != t[0] || s[1] != t[1]) {
            throw new InvalidInputException("distillation: student " + Shapes.format(s) + " and teacher "
                    + Shapes.format(t) + " must be [B, N, D] with the same B and N");
        }
        if (mapWeight == null && s[2] != t[2]) {
            throw new InvalidInputException("distillation: widths differ (" + s[2] + " vs " + t[2]
                    + "): pass the learned map");
        }
        try (TensorScope scope = student.backend().newScope()) {
            Tensor mapped = mapWeight == null ? student : ops.linear(student, mapWeight, mapBias);
            Tensor cos = ops.scale(ops.mean(ops.mul(ops.l2Normalize(mapped, -1, 1e-12),
                    ops.l2Normalize(teacher, -1, 1e-12)), -1), t[2]);
            return scope.keep(ops.scale(ops.sum(cos), -1.0 / (s[0] * s[1])));
        }
    }
}
