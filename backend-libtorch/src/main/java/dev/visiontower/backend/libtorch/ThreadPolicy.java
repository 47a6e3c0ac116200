package dev.visiontower.backend.libtorch;

import org.bytedeco.pytorch.global.torch;

/**
 * How the libtorch backend shares the CPU between the thread pools in its process. libtorch's intra-op pool (OpenMP)
 * and OpenBLAS's own pthread pool both busy-wait for work after each call; given the same cores they steal them from
 * each other (measured on 2 cores: a training epoch 3.4x slower, a ViT-B/16 float32 pass 1.8x slower, than with one
 * of the two pools at one thread).
 *
 * <p>With oneDNN ({@link OneDnn}) every inference product runs on libtorch's OpenMP pool, so that pool gets the cores
 * (the requested count, default all) and OpenBLAS one thread: what still calls it (products under autograd) runs on
 * the calling thread and never spins against the pool. Without oneDNN float32 products run in OpenBLAS, so libtorch
 * keeps one intra-op thread by default and OpenBLAS its own default. An explicit {@code OPENBLAS_NUM_THREADS} in the
 * environment is always left alone. Both settings are process-wide: the last CPU backend opened sets them.
 */
final class ThreadPolicy {
    private static volatile String current = "libtorch default";

    private ThreadPolicy() {
    }

    /**
     * Sets the pools for a CPU backend that asked for {@code requested} intra-op threads (0 = the default).
     *
     * @return the intra-op thread count in effect
     */
    static synchronized int apply(int requested, boolean onednn) {
        int cores = Runtime.getRuntime().availableProcessors();
        boolean blasFromUser = System.getenv("OPENBLAS_NUM_THREADS") != null;
        int n;
        if (onednn) {
            n = requested > 0 ? requested : cores;
            torch.set_num_threads(n);
            if (!blasFromUser) {
                org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
            }
            current = "libtorch/oneDNN " + n + " thread(s), OpenBLAS " + (blasFromUser
                    ? System.getenv("OPENBLAS_NUM_THREADS") + " (OPENBLAS_NUM_THREADS)" : "1");
        } else {
            n = requested > 0 ? requested : 1;
            torch.set_num_threads(n);
            current = "libtorch " + n + " thread(s), OpenBLAS " + (blasFromUser
                    ? System.getenv("OPENBLAS_NUM_THREADS") + " (OPENBLAS_NUM_THREADS)" : "its default (all cores)");
        }
        return n;
    }

    /** The setting last applied, for descriptions and benchmark reports. */
    static String current() {
        return current;
    }
}
