package dev.visiontower.backend.libtorch;

import org.bytedeco.javacpp.Loader;

/**
 * Loads libtorch once per JVM. Extracts every native library of the bytedeco jars into JavaCPP's cache before the
 * first {@code System.load}: otherwise, on a fresh cache, the dynamic linker can resolve {@code libtorch_cpu.so} to a
 * system-wide libtorch of another version, which crashes the JVM.
 */
final class TorchNatives {
    private static final Object LOCK = new Object();
    private static volatile Throwable failure;
    private static volatile boolean loaded;

    private TorchNatives() {
    }

    /** Loads the natives; returns null on success or the failure (also remembered for later calls). */
    static Throwable load() {
        if (loaded) {
            return null;
        }
        synchronized (LOCK) {
            if (loaded) {
                return null;
            }
            if (failure != null) {
                return failure;
            }
            try {
                String platform = Loader.getPlatform();
                for (String root : new String[] {"/org/bytedeco/javacpp/" + platform + "/",
                        "/org/bytedeco/openblas/" + platform + "/", "/org/bytedeco/pytorch/" + platform + "/",
                        "/org/bytedeco/pytorch/" + platform + "-gpu/"}) {
                    try {
                        Loader.cacheResources(root);
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException("cannot extract natives under " + root + ": " + e.getMessage(), e);
                    }
                }
                Loader.load(org.bytedeco.pytorch.global.torch.class);
                loaded = true;
                return null;
            } catch (Throwable t) { // UnsatisfiedLinkError and friends: report, never crash the caller
                failure = t;
                return t;
            }
        }
    }
}
