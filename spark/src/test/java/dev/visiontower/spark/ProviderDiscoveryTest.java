package dev.visiontower.spark;

import dev.visiontower.api.Backends;
import dev.visiontower.api.Models;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On the class path, as Spark runs: backends and model families are found through their META-INF/services files,
 * also on a thread whose context class loader cannot see them (some frameworks leave such a loader on their threads).
 */
class ProviderDiscoveryTest {
    private static void check() {
        List<String> backends = Backends.list().stream().map(Backends.Info::name).toList();
        List<String> families = Models.families().stream().map(f -> f.name()).toList();
        assertTrue(backends.containsAll(List.of("libtorch", "onnx")), backends.toString());
        assertTrue(families.containsAll(List.of("clip", "siglip", "internvit")), families.toString());
    }

    @Test
    void foundThroughTheContextClassLoader() {
        check();
    }

    @Test
    void foundWhenTheContextClassLoaderSeesNoneOfThem() {
        Thread t = Thread.currentThread();
        ClassLoader before = t.getContextClassLoader();
        t.setContextClassLoader(ClassLoader.getPlatformClassLoader());
        try {
            check();
        } finally {
            t.setContextClassLoader(before);
        }
    }
}
