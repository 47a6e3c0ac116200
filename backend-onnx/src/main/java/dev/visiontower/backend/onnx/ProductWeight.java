package dev.visiontower.backend.onnx;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.spi.CpuFeatures;

import java.util.function.Supplier;

/**
 * The weight {@code [N, K]} of a product {@code x @ W^T}, as the graph stores it: float32 transposed ({@code [K, N]},
 * what MatMul reads), or quantised to int8 per output channel ({@code [K, N]} int8 and {@code [N]} float32 scales, what
 * ONNX Runtime's DynamicQuantizeMatMul reads). Derived initializers are kept with {@code owner} under
 * {@code key}-prefixed names, so a weight made of several parameters (q, k and v concatenated) is prepared once.
 *
 * @param owner    the parameter the derived initializers are kept with
 * @param key      distinguishes this weight among the owner's derived ones ("" for the owner itself)
 * @param rowMajor computes the float32 weight {@code [N, K]} (called when a derived initializer is first made)
 */
record ProductWeight(OrtTensor owner, String key, Supplier<HostTensor> rowMajor) {

    /** Symmetric int8 range of quantised weights: 127, or 63 where the CPU's int8 kernels could saturate. */
    static final int INT8_RANGE = CpuFeatures.current().has("avx512_vnni") || CpuFeatures.current().has("avx_vnni")
            || CpuFeatures.current().has("amx_int8") || !CpuFeatures.current().isX86() ? 127 : 63;

    /** A single 2-D parameter. */
    static ProductWeight of(OrtTensor parameter) {
        return new ProductWeight(parameter, "", () -> parameter.value);
    }

    OrtTensor.Derived transposed() {
        return new OrtTensor.Derived(owner, key + "T", () -> transpose(rowMajor.get()));
    }

    OrtTensor.Derived int8() {
        return new OrtTensor.Derived(owner, key + "q8", () -> quantize(rowMajor.get(), INT8_RANGE)[0]);
    }

    OrtTensor.Derived int8Scales() {
        return new OrtTensor.Derived(owner, key + "q8scale", () -> scales(rowMajor.get(), INT8_RANGE));
    }

    static HostTensor transpose(HostTensor w) {
        long[] s = w.shape();
        float[] in = w.floats();
        float[] out = new float[in.length];
        int rows = (int) s[0];
        int cols = (int) s[1];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[j * rows + i] = in[i * cols + j];
            }
        }
        return HostTensor.ofFloats(out, cols, rows);
    }

    /** The per-output-channel scales of {@code w [N, K]}: {@code max|w[n,:]| / range} (1 for an all-zero row). */
    static HostTensor scales(HostTensor w, int range) {
        long[] s = w.shape();
        int n = (int) s[0];
        int k = (int) s[1];
        float[] v = w.floats();
        float[] scales = new float[n];
        for (int i = 0; i < n; i++) {
            float max = 0;
            for (int j = 0; j < k; j++) {
                max = Math.max(max, Math.abs(v[i * k + j]));
            }
            scales[i] = max == 0 ? 1f : max / range;
        }
        return HostTensor.ofFloats(scales, n);
    }

    /**
     * Symmetric per-output-channel quantisation of {@code w [N, K]} with the {@link #scales}: values
     * {@code round(w / scale)}; returns the transposed int8 values {@code [K, N]} and the scales {@code [N]}.
     */
    static HostTensor[] quantize(HostTensor w, int range) {
        long[] s = w.shape();
        int n = (int) s[0];
        int k = (int) s[1];
        float[] v = w.floats();
        HostTensor sc = scales(w, range);
        float[] scales = sc.floats();
        byte[] q = new byte[n * k];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                int r = Math.round(v[i * k + j] / scales[i]);
                q[j * n + i] = (byte) Math.max(-range, Math.min(range, r));
            }
        }
        return new HostTensor[] {HostTensor.ofInt8(q, k, n), sc};
    }
}
