package dev.visiontower.backend.jcuda;

import dev.visiontower.api.Activation;
import dev.visiontower.api.DType;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.nn.BlockSpec;
import dev.visiontower.api.nn.NormKind;
import dev.visiontower.api.nn.Parameters;
import dev.visiontower.api.nn.TransformerBlock;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * A pre-norm transformer block as seven kernels for bfloat16/float16 compute, reading the same canonical parameters
 * as the reference block ({@link BlockSpec}): norm1 writes 16-bit rows; one product computes q, k and v together
 * (the three weights concatenated once) and its epilogue writes them, with their biases, straight into the
 * attention's [B, H, N, Dh] planes; the fused attention reads those and writes [B, N, H * Dh] in 16 bits; the output
 * projection's epilogue adds the bias, the layer scale and the residual in float32; norm2 writes 16-bit rows; fc1's
 * epilogue applies bias and activation and writes 16 bits; fc2's adds bias, layer scale and residual. Compared with
 * the operation-by-operation block this skips the head permutes, the per-product 16-bit copies of activations and
 * the separate bias/activation/residual passes. Products run on the mma.sync kernels ({@code vt_gemm_mma_*}), or on
 * the wgmma ones ({@code vt_gemm_wgmma_*}) with the option {@code tile=wgmma}.
 *
 * <p>Used for blocks without q/k norm, head size 64 or 128, widths multiple of 8; others, and inputs the kernels
 * cannot take, run the reference block.
 */
final class FusedBlock implements TransformerBlock {
    private static final int TILE = 128;

    private final CudaBackend backend;
    private final BlockSpec spec;
    private final Parameters p;
    private final TransformerBlock reference;
    // kernel names for the backend's 16-bit type
    private final String layerNorm;
    private final String rmsNorm;
    private final String flash; // + head size
    private final String gemm16;
    private final String gemm32;
    private final int productThreads;
    private final int productShared;

    FusedBlock(CudaBackend backend, BlockSpec spec, Parameters p, TransformerBlock reference) {
        this.backend = backend;
        this.spec = spec;
        this.p = p;
        this.reference = reference;
        boolean f16 = backend.precision() == Gemm.Precision.FP16;
        this.layerNorm = f16 ? "vt_layer_norm_f16" : "vt_layer_norm_bf16";
        this.rmsNorm = f16 ? "vt_rms_norm_f16" : "vt_rms_norm_bf16";
        this.flash = backend.flash2() ? (f16 ? "vt_flash2_f16_d" : "vt_flash2_bf16_d")
                : (f16 ? "vt_flash16_f16_d" : "vt_flash16_bf16_d");
        String product = Gemm.kernel16(backend.tile().equals("wgmma") ? "wgmma" : "mma", backend.precision());
        this.gemm16 = product + "_epi16";
        this.gemm32 = product + "_epi";
        this.productThreads = Gemm.threads16(backend.tile());
        this.productShared = Gemm.sharedBytes16(backend.tile());
    }

    static boolean supports(BlockSpec spec) {
        int dh = spec.headDim();
        return !spec.qkNorm() && (dh == 64 || dh == 128) && spec.width() % 8 == 0 && spec.mlpWidth() % 8 == 0
                && spec.width() == spec.heads() * dh;
    }

    @Override
    public Tensor forward(Tensor x, Tensor mask) {
        if (!(x instanceof CudaTensor) || ((CudaTensor) x).backend != backend || x.dtype() != DType.FLOAT32
                || x.shape().length != 3 || x.shape()[2] != spec.width()
                || (mask != null && (!(mask instanceof CudaTensor) || mask.dtype() != DType.FLOAT32))) {
            return reference.forward(x, mask); // the reference block validates and reports
        }
        long[] s = x.shape();
        long b = s[0];
        long n = s[1];
        long tokens = b * n;
        int w = spec.width();
        int heads = spec.heads();
        int dh = spec.headDim();
        int mlp = spec.mlpWidth();
        if (tokens == 0 || tokens > (long) TILE * 65535 || b * heads > 65535 || n > Integer.MAX_VALUE
                || tokens * Math.max(3L * w, mlp) > Integer.MAX_VALUE) {
            return reference.forward(x, mask);
        }
        long[] ms = new long[4];
        CudaTensor mm = null;
        if (mask != null) {
            mm = (CudaTensor) mask;
            long[] target = {b, heads, n, n};
            long[] shape = mm.dims();
            if (shape.length > 4 || !java.util.Arrays.equals(CudaBackend.broadcastShape(shape, target,
                    "attention mask"), target)) {
                throw new dev.visiontower.api.InvalidInputException("attention: mask " + Shapes.format(shape)
                        + " does not broadcast to " + Shapes.format(target));
            }
            ms = CudaBackend.broadcastStrides(shape, target);
        }
        backend.current();
        CudaTensor xin = (CudaTensor) x;
        int m = (int) tokens;
        CudaAllocator.Block h16 = null;
        CudaAllocator.Block qkv16 = null;
        CudaAllocator.Block a16 = null;
        CudaAllocator.Block y = null;
        CudaAllocator.Block f16 = null;
        CudaTensor out = null;
        try {
            h16 = backend.allocBlock(2L * m * w);
            CUdeviceptr hp = h16.ptr();
            stage("norm1", () -> norm(hp, xin.ptr(), "norm1.", m));

            qkv16 = backend.allocBlock(2L * m * 3 * w);
            CUdeviceptr qkv = qkv16.ptr();
            CudaTensor qw = weight("attn.q.weight");
            CUdeviceptr wqkv = qw.derived("qkv16", () -> concat16(qw, weight("attn.k.weight"),
                    weight("attn.v.weight")));
            CudaTensor qb = spec.qkvBias() ? weight("attn.q.bias") : null;
            CUdeviceptr bqkv = qb == null ? null
                    : qb.derived("qkv-bias", () -> concat32(qb, weight("attn.k.bias"), weight("attn.v.bias")));
            stage("qkv product", () -> gemm(hp, wqkv, qkv, bqkv, m, 3 * w, w, null, null, -1, heads, (int) n, dh,
                    true));

            a16 = backend.allocBlock(2L * m * w);
            CUdeviceptr ap = a16.ptr();
            long plane = 2L * m * w; // bytes
            int smem = backend.flash2() ? CudaBackend.flash2SharedBytes(dh) : CudaBackend.flashSharedBytes(dh);
            long qB = (long) heads * n * dh;
            long qH = n * dh;
            CUdeviceptr maskPtr = mm == null ? null : mm.ptr();
            long[] mst = ms;
            stage("attention", () -> backend.kernels().launch(backend.stream(), flash + dh, (int) ((n + 63) / 64),
                    (int) (b * heads), 1, 128, smem, qkv, qkv.withByteOffset(plane), qkv.withByteOffset(2 * plane),
                    ap, maskPtr, mst[0], mst[1], mst[2], mst[3], heads, (int) n, (int) n,
                    (float) (1.0 / Math.sqrt(dh)), spec.causal() ? 1 : 0, qB, qH, (long) dh, qB, qH, (long) dh,
                    n * w, (long) dh, (long) w));
            backend.freeBlock(qkv16);
            qkv16 = null;

            y = backend.allocBlock(4L * m * w);
            CUdeviceptr yp = y.ptr();
            stage("proj product + residual", () -> gemm(ap, weight("attn.proj.weight").lowPrecisionCopy(backend), yp,
                    weight("attn.proj.bias").ptr(), m, w, w, spec.layerScale() ? weight("ls1").ptr() : null,
                    xin.ptr(), -1, 0, 1, 1, false));
            backend.freeBlock(a16);
            a16 = null;

            stage("norm2", () -> norm(hp, yp, "norm2.", m));
            f16 = backend.allocBlock(2L * m * mlp);
            CUdeviceptr fp = f16.ptr();
            stage("fc1 product + activation", () -> gemm(hp, weight("mlp.fc1.weight").lowPrecisionCopy(backend), fp,
                    weight("mlp.fc1.bias").ptr(), m, mlp, w, null, null, activation(spec.activation()), 0, 1, 1,
                    true));
            backend.freeBlock(h16);
            h16 = null;

            out = backend.allocTensor(s);
            CUdeviceptr op = out.ptr();
            stage("fc2 product + residual", () -> gemm(fp, weight("mlp.fc2.weight").lowPrecisionCopy(backend), op,
                    weight("mlp.fc2.bias").ptr(), m, w, mlp, spec.layerScale() ? weight("ls2").ptr() : null,
                    yp, -1, 0, 1, 1, false));
            CudaTensor result = out;
            out = null;
            return result;
        } finally {
            // stream-ordered: every kernel above is queued before a freed block can be handed out again
            for (CudaAllocator.Block blk : new CudaAllocator.Block[] {h16, qkv16, a16, y, f16}) {
                if (blk != null) {
                    backend.freeBlock(blk);
                }
            }
            if (out != null) {
                out.close();
            }
        }
    }

    /** When set, each stage of a forward is timed on the device into {@link #stages} (GemmBenchmark's block mode). */
    static volatile boolean profile;
    /** Device milliseconds per stage, summed over the forwards run while {@link #profile} was set. */
    final java.util.Map<String, Float> stages = new java.util.LinkedHashMap<>();

    private void stage(String name, Runnable work) {
        if (profile) {
            stages.merge(name, backend.timeOnDevice(work), Float::sum);
        } else {
            work.run();
        }
    }

    private CudaTensor weight(String name) {
        return (CudaTensor) p.get(name);
    }

    private void norm(CUdeviceptr out, CUdeviceptr in, String prefix, int rows) {
        int w = spec.width();
        if (backend.warpNorm(w)) {
            boolean f16 = backend.precision() == Gemm.Precision.FP16;
            int blocks = (rows + 3) / 4;
            if (spec.norm() == NormKind.LAYER_NORM) {
                CudaTensor bias = (CudaTensor) p.optional(prefix + "bias");
                backend.kernels().launch(backend.stream(), f16 ? "vt_layer_norm_rows_f16" : "vt_layer_norm_rows_bf16",
                        blocks, 1, 1, 128, 0, out, in, weight(prefix + "weight").ptr(),
                        bias == null ? null : bias.ptr(), (long) rows, w, (float) spec.normEps());
            } else {
                backend.kernels().launch(backend.stream(), f16 ? "vt_rms_norm_rows_f16" : "vt_rms_norm_rows_bf16",
                        blocks, 1, 1, 128, 0, out, in, weight(prefix + "weight").ptr(), (long) rows, w,
                        (float) spec.normEps());
            }
            return;
        }
        int threads = w >= 512 ? 512 : (w >= 256 ? 256 : 128);
        if (spec.norm() == NormKind.LAYER_NORM) {
            CudaTensor bias = (CudaTensor) p.optional(prefix + "bias");
            backend.kernels().launchRows(backend.stream(), layerNorm, rows, threads, out, in,
                    weight(prefix + "weight").ptr(), bias == null ? null : bias.ptr(), (long) w,
                    (float) spec.normEps());
        } else {
            backend.kernels().launchRows(backend.stream(), rmsNorm, rows, threads, out, in,
                    weight(prefix + "weight").ptr(), (long) w, (float) spec.normEps());
        }
    }

    /** One product A [m, k] x B [n, k]^T with the given epilogue; 16-bit or float32 output. */
    private void gemm(CUdeviceptr a, CUdeviceptr bw, CUdeviceptr c, CUdeviceptr bias, int m, int n, int k,
                      CUdeviceptr scale, CUdeviceptr residual, int act, int heads, int tokens, int headDim,
                      boolean out16) {
        backend.kernels().launch(backend.stream(), out16 ? gemm16 : gemm32, (n + TILE - 1) / TILE,
                (m + TILE - 1) / TILE, 1, productThreads, productShared, a, bw, c, bias, m, n, k, scale, residual, act,
                heads, tokens, headDim);
    }

    /** The 16-bit [3W, W] concatenation of the q, k, v weights. */
    private CudaAllocator.Block concat16(CudaTensor q, CudaTensor k, CudaTensor v) {
        long bytes = 2L * q.numel();
        CudaAllocator.Block blk = backend.allocBlock(3 * bytes);
        CudaTensor[] parts = {q, k, v};
        for (int i = 0; i < 3; i++) {
            JCudaDriver.cuMemcpyDtoDAsync(blk.ptr().withByteOffset(i * bytes), parts[i].lowPrecisionCopy(backend),
                    bytes, backend.stream());
        }
        return blk;
    }

    /** The float32 [3W] concatenation of the q, k, v biases. */
    private CudaAllocator.Block concat32(CudaTensor q, CudaTensor k, CudaTensor v) {
        long bytes = 4L * q.numel();
        CudaAllocator.Block blk = backend.allocBlock(3 * bytes);
        CudaTensor[] parts = {q, k, v};
        for (int i = 0; i < 3; i++) {
            JCudaDriver.cuMemcpyDtoDAsync(blk.ptr().withByteOffset(i * bytes), parts[i].ptr(), bytes,
                    backend.stream());
        }
        return blk;
    }

    /** The kernels' activation code (vt_activation). */
    private static int activation(Activation a) {
        switch (a) {
            case QUICK_GELU: return 0;
            case GELU: return 1;
            case GELU_TANH: return 2;
            default: throw new IllegalArgumentException("activation " + a);
        }
    }
}
