/**
 * The JCuda backend ({@code jcuda}): the encoders on NVIDIA GPUs with no libtorch. Tensors live in device memory
 * (a caching allocator, one stream per backend, weights uploaded once); matrix products run on cuBLAS when
 * {@code libcublas.so.12} loads, otherwise on this module's own tensor-core GEMM kernels; everything else runs on this
 * module's CUDA kernels ({@code kernels.cu}, shipped as sm_80/sm_90 machine code and PTX when the build machine had
 * {@code nvcc}, else compiled by NVRTC when the backend opens). {@code visiontower backends} says which engine and which kernel source are active.
 *
 * <h2>Options ({@code BackendOptions.extra} or system properties {@code visiontower.jcuda.<key>})</h2>
 * <ul>
 *   <li>{@code gemm}: {@code auto} (default: cuBLAS if it loads, else own kernels), {@code cublas}, {@code own}.</li>
 *   <li>{@code tf32}: {@code true} to run float32 matrix products on TF32 tensor cores (default {@code false}).</li>
 *   <li>{@code kernels}: {@code auto} (default: shipped machine code, else shipped PTX, else NVRTC), {@code ptx}
 *       (JIT-compile the shipped PTX), {@code nvrtc}.</li>
 *   <li>{@code pipeline}: {@code true} (default) to use the cp.async-pipelined tensor-core kernels where a product's
 *       layout allows, {@code false} for the simpler ones (for comparison).</li>
 *   <li>{@code tile}: {@code mma} (default: mma.sync with ldmatrix, 128 x 128 tiles of 4 warps), {@code narrow}
 *       (WMMA 128 x 128), {@code wide} (WMMA 128 x 256) kernels for pipelined 16-bit products, or {@code wgmma}
 *       (Hopper warpgroup MMA; written and tested on the warp emulator, not yet run on a GPU).</li>
 *   <li>{@code block}: {@code fused} (default) runs bfloat16/float16 transformer blocks (no q/k norm, head size 64 or
 *       128) as a few kernels with fused epilogues and no permutes; {@code ops} composes them from operations.</li>
 *   <li>{@code attention}: {@code fused} (default) runs bfloat16/float16 attention with head size 64 or 128 as one
 *       FlashAttention-style kernel; {@code flash2} a register-resident variant of it (not yet run on a GPU);
 *       {@code unfused} materialises the scores (float32 always does).</li>
 *   <li>{@code norm}: {@code block} (default) one thread block per row for LayerNorm/RMSNorm, {@code warp} one warp
 *       per row where rows hold 128 to 1024 values in multiples of 128 (not yet run on a GPU).</li>
 * </ul>
 * The natives of JCuda are extracted to {@code java.io.tmpdir} before the first load, which is what makes them
 * loadable from the module path (see {@code JCudaNatives}).
 */
module dev.visiontower.backend.jcuda {
    requires transitive dev.visiontower.api;
    requires jcuda;
    requires jcublas;
    requires static com.google.auto.service;

    exports dev.visiontower.backend.jcuda;

    provides dev.visiontower.api.spi.BackendProvider with dev.visiontower.backend.jcuda.JCudaBackendProvider;
}
