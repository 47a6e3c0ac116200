package dev.visiontower.backend.libtorch;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ownership: scopes, idempotent close, use after close, and no growth over 1,000 forward passes. */
class TorchMemoryTest {

    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    private static void runPasses(Backend b, VisionTransformer model, HostTensor pixels, int n) {
        for (int i = 0; i < n; i++) {
            try (Tensor x = b.fromHost(pixels); VisionOutput out = model.forward(x, ForwardOptions.DEFAULT)) {
                out.imageEmbeds().toHost();
            }
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseThrows() {
        try (Backend b = Backends.open("libtorch", Device.CPU)) {
            long before = b.liveTensors();
            Tensor t = b.fromHost(HostTensor.ofFloats(new float[] {1, 2}, 2));
            assertEquals(before + 1, b.liveTensors());
            t.close();
            t.close();
            assertTrue(t.isClosed());
            assertEquals(before, b.liveTensors());
            assertThrows(IllegalStateException.class, t::shape);
            assertThrows(IllegalStateException.class, t::toHost);
            assertThrows(IllegalStateException.class, () -> b.ops().add(t, t));
        }
    }

    @Test
    void scopesFreeTemporariesAndKeepMovesToTheParent() {
        try (Backend b = Backends.open("libtorch", Device.CPU)) {
            long before = b.liveTensors();
            Tensor kept;
            try (TensorScope outer = b.newScope()) {
                try (TensorScope inner = b.newScope()) {
                    Tensor x = b.fromHost(HostTensor.ofFloats(new float[] {1, 2, 3}, 3));
                    Tensor y = b.ops().scale(x, 2);
                    kept = inner.keep(b.ops().add(x, y));
                    assertEquals(3, inner.size() + 1);
                }
                assertFalse(kept.isClosed(), "kept tensor survives its scope");
                assertEquals(1, outer.size(), "kept tensor moved to the enclosing scope");
                assertEquals(before + 1, b.liveTensors());
            }
            assertTrue(kept.isClosed(), "the enclosing scope closed it");
            assertEquals(before, b.liveTensors());
        }
    }

    @Test
    void thousandForwardPassesDoNotGrowTheProcess() throws IOException {
        VitConfig cfg = VitConfig.builder().imageSize(32).patchSize(8).width(64).depth(2).heads(4).mlpWidth(128)
                .projectionDim(32).build();
        try (Backend b = Backends.open("libtorch", Device.CPU);
             VisionTransformer model = VisionTransformer.load(cfg, RandomWeights.of(cfg, 7), b)) {
            long params = b.liveTensors();
            float[] px = new float[4 * 3 * 32 * 32];
            for (int i = 0; i < px.length; i++) {
                px[i] = (float) Math.sin(i);
            }
            HostTensor pixels = HostTensor.ofFloats(px, 4, 3, 32, 32);
            // The surefire configuration of this module commits and touches the whole heap at start, so the process
            // grows only with native memory; the first passes warm up the allocators and kernel caches.
            runPasses(b, model, pixels, 1000);
            long before = rssKb();
            runPasses(b, model, pixels, 1000);
            long after = rssKb();
            System.out.printf("RSS before 1,000 more passes %d KiB, after %d KiB (growth %d KiB)%n", before, after,
                    after - before);
            assertTrue(after - before < 8 * 1024, "RSS grew by " + (after - before) + " KiB over 1,000 passes");
            assertEquals(params, b.liveTensors(), "only the weights are still open");
        }
    }
}
