package dev.visiontower.api;

import java.util.List;

/**
 * The operations a backend supplies. Model code (the shared {@link dev.visiontower.api.nn.VisionTransformer}, the
 * families' heads and losses) is written once against this interface; backends implement it eagerly (libtorch),
 * on a device (CUDA), or by recording a graph that is compiled and run later (ONNX Runtime). Implementations must
 * therefore never require model code to read tensor values: only shapes.
 *
 * <p>Every method returns a new tensor registered in the caller's innermost {@link TensorScope} (if any); inputs are
 * never modified or closed. Unless stated otherwise all floating-point tensors share one dtype, dimension indices may
 * be negative (counted from the end), and binary element-wise operations broadcast like NumPy.
 */
public interface Ops {

    /** {@code x @ weight^T + bias}; {@code x [..., in]}, {@code weight [out, in]}, {@code bias [out]} or null. */
    Tensor linear(Tensor x, Tensor weight, Tensor bias);

    /** Batched matrix product {@code a @ b} ({@code [..., n, k] x [..., k, m]}). */
    Tensor matmul(Tensor a, Tensor b);

    Tensor add(Tensor a, Tensor b);

    Tensor sub(Tensor a, Tensor b);

    Tensor mul(Tensor a, Tensor b);

    /** {@code x * factor}. */
    Tensor scale(Tensor x, double factor);

    /** LayerNorm over the last dimension: {@code (x - mean) / sqrt(var + eps) * weight + bias} (biased variance). */
    Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps);

    /** RMSNorm over the last dimension: {@code x / sqrt(mean(x^2) + eps) * weight}. */
    Tensor rmsNorm(Tensor x, Tensor weight, double eps);

    Tensor activation(Tensor x, Activation activation);

    Tensor softmax(Tensor x, int dim);

    /**
     * Scaled dot-product attention {@code softmax(q k^T * scale + mask) v}, computed in float32 at least.
     *
     * @param q      {@code [B, H, Nq, Dh]}
     * @param k      {@code [B, H, Nk, Dh]}
     * @param v      {@code [B, H, Nk, Dv]}
     * @param mask   additive mask broadcastable to {@code [B, H, Nq, Nk]}, or null
     * @param causal whether key {@code j > i} is hidden from query {@code i}
     * @param scale  usually {@code Dh^-0.5}
     * @return {@code [B, H, Nq, Dv]}
     */
    Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale);

    /**
     * Non-overlapping patch embedding (a convolution with kernel = stride = {@code patch}, no padding), flattened.
     *
     * @param pixels {@code [B, C, H, W]}, H and W at least {@code patch} (a remainder is dropped)
     * @param weight {@code [D, C, patch, patch]}
     * @param bias   {@code [D]} or null
     * @return {@code [B, (H/patch)*(W/patch), D]}, tokens in row-major grid order
     */
    Tensor patchEmbed(Tensor pixels, Tensor weight, Tensor bias, int patch);

    /** Same data, new shape; one dimension may be -1. */
    Tensor reshape(Tensor x, long... shape);

    /** Reorders dimensions. */
    Tensor permute(Tensor x, int... dims);

    /** {@code length} entries of dimension {@code dim} starting at {@code start}. */
    Tensor narrow(Tensor x, int dim, long start, long length);

    /** Concatenation along {@code dim}. */
    Tensor concat(List<Tensor> xs, int dim);

    /** Broadcasts size-1 dimensions to {@code shape} (-1 keeps a dimension). */
    Tensor expand(Tensor x, long... shape);

    /** Mean over {@code dim}, which is removed. */
    Tensor mean(Tensor x, int dim);

    /** {@code x / max(||x||_2, eps)} along {@code dim}. */
    Tensor l2Normalize(Tensor x, int dim, double eps);

    /**
     * Bicubic resampling of {@code [B, C, H, W]} to {@code [B, C, outH, outW]} with PyTorch's
     * {@code interpolate(mode='bicubic', align_corners=False, antialias=False)} semantics: cubic convolution with
     * A = -0.75, source coordinate {@code (dst + 0.5) * in/out - 0.5}, border taps clamped.
     */
    Tensor resizeBicubic(Tensor x, int outH, int outW);

    // ---- text towers, scoring and losses ----

    /** Rows of {@code table [V, D]} at integer {@code ids [...]}: {@code [..., D]}. */
    Tensor embedding(Tensor table, Tensor ids);

    /** Index of the largest value along {@code dim} (the first one on ties), int64, {@code dim} removed. */
    Tensor argmax(Tensor x, int dim);

    /** {@code 1} where {@code x == value}, else {@code 0}, in the compute dtype. */
    Tensor equalTo(Tensor x, double value);

    /** Per batch row {@code b}, the entry {@code x[b, index[b]]}: {@code x [B, N, ...]}, {@code index [B]} int64. */
    Tensor gatherRows(Tensor x, Tensor index);

    /**
     * Additive attention mask from a padding mask: {@code keep [B, N]} (1 = attend, 0 = padding, any integer or float
     * type) becomes {@code [B, 1, 1, N]} holding 0 or the most negative finite value of the compute dtype.
     */
    Tensor paddingMask(Tensor keep);

    Tensor exp(Tensor x);

    /** {@code log(softmax(x))} along {@code dim}, computed stably. */
    Tensor logSoftmax(Tensor x, int dim);

    /** {@code log(sigmoid(x))}, computed stably. */
    Tensor logSigmoid(Tensor x);

    /** Sum of all elements, a 0-dimensional tensor. */
    Tensor sum(Tensor x);

    /** The main diagonal of a matrix {@code [N, N]}: {@code [N]}. */
    Tensor diagonal(Tensor x);
}
