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
 * <h2>System properties</h2>
 * <ul>
 *   <li>{@code visiontower.libtorch.threads}: libtorch intra-op (OpenMP) threads when the caller passes 0. Default on
 *       the CPU: 1. Matrix products run in OpenBLAS, whose own pool is sized by the environment variable
 *       {@code OPENBLAS_NUM_THREADS} (default: all cores); a second busy-waiting OpenMP pool on the same cores
 *       slowed a small ViT forward pass 12x on a 2-core machine. Both pools are process-wide: the last backend
 *       opened with an explicit count sets libtorch's for all.</li>
 * </ul>
 *
 * <p>On the module path the native classifier jars are separate open modules nobody requires: launch with
 * {@code --add-modules ALL-MODULE-PATH} (the {@code visiontower} launcher does).
 */
module dev.visiontower.backend.libtorch {
    requires dev.visiontower.api;
    requires org.bytedeco.pytorch;
    requires static com.google.auto.service;

    provides dev.visiontower.api.spi.BackendProvider with dev.visiontower.backend.libtorch.TorchBackendProvider;
}
