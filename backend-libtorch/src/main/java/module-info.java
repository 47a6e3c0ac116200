/**
 * The libtorch backend ({@code libtorch}): bytedeco's PyTorch presets, CPU always, CUDA when built with the
 * {@code gpu} Maven profile and run on a machine with a CUDA 13 runtime.
 *
 * <h2>Native loading</h2>
 * Every native library of the javacpp, openblas and pytorch jars is extracted to JavaCPP's cache
 * ({@code ~/.javacpp/cache}, or {@code org.bytedeco.javacpp.cachedir}) before the first library is loaded, so a
 * different libtorch installed system-wide (e.g. Debian's {@code libtorch-dev}) is never linked by accident. Loading
 * happens in {@link dev.visiontower.backend.libtorch.TorchBackendProvider#probe()}, never in a static initialiser;
 * a failure makes the backend report "unavailable" with the reason.
 *
 * <h2>CPU inference on oneDNN</h2>
 * On the CPU, float32 and bfloat16 transformer blocks run their four products on oneDNN 3.11 (bytedeco's
 * {@code dnnl} presets, loaded after libtorch and sharing its OpenMP runtime): weights packed once into the kernels'
 * layout (AMX/VNNI where the CPU has them), bias, activation, layer scale and residual in the products' epilogues,
 * attention by libtorch's fused scaled-dot-product kernel reading q, k and v in place from the q/k/v product.
 * {@code linear} on model weights uses the same packed products. With compute type int8 the products take int8
 * weights (one scale per output channel; 7-bit where oneDNN's int8 kernels lack VNNI and could saturate) and quantise
 * their input per call (uint8, its own scale and zero point); the activations between them are bfloat16 where oneDNN
 * has bfloat16 kernels for the CPU, else float32. Where oneDNN has no kernels for a compute type (bfloat16 on a CPU
 * without AVX512-BF16 or AMX), libtorch's own kernels run it (slower, same results). Anything that may need gradients (grad mode with an input or weight
 * that requires grad, or autocast) takes the reference operations. If oneDNN cannot load, {@code backends} says why and
 * everything runs on libtorch's own kernels.
 *
 * <h2>Options ({@code --option KEY=VALUE})</h2>
 * <ul>
 *   <li>{@code onednn=true|false} (default true): the oneDNN blocks and products on the CPU.</li>
 *   <li>{@code attention=sdpa|onednn} (default sdpa): unmasked attention in the oneDNN blocks on libtorch's fused
 *       kernel, or as two oneDNN products around a float32 softmax (equal at batch 8, slower at batch 32: ViT-B/16
 *       bfloat16 28.7 against 34.1 images/s). Masked and causal attention always use libtorch's.</li>
 *   <li>{@code int8.activations=bfloat16|float32} (int8 only; default bfloat16 where the CPU has AMX or
 *       AVX512-BF16): the type of the activations between int8 products.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * {@code --threads N} (or the system property {@code visiontower.libtorch.threads}) sets libtorch's intra-op OpenMP
 * pool, which oneDNN shares; the default is every core. OpenBLAS, whose pool would busy-wait against it, is set to one
 * thread (it only serves products under autograd then) unless {@code OPENBLAS_NUM_THREADS} is set. Without oneDNN the
 * old split applies: libtorch one thread by default, OpenBLAS all cores. The pools are process-wide: the last CPU
 * backend opened sets them. See {@code ThreadPolicy}.
 *
 * <p>On the module path the native classifier jars are separate open modules nobody requires: launch with
 * {@code --add-modules ALL-MODULE-PATH} (the {@code visiontower} launcher does).
 */
module dev.visiontower.backend.libtorch {
    requires dev.visiontower.api;
    requires org.bytedeco.pytorch;
    requires org.bytedeco.dnnl;
    requires static com.google.auto.service;

    provides dev.visiontower.api.spi.BackendProvider with dev.visiontower.backend.libtorch.TorchBackendProvider;
}
