package dev.visiontower.backend.jcuda;

import dev.visiontower.api.BackendUnavailableException;
import dev.visiontower.api.Backends;
import dev.visiontower.api.Device;
import dev.visiontower.api.spi.Availability;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The provider on whatever machine runs the build: found by ServiceLoader, and honest about why it cannot run. */
class JCudaProviderTest {
    /** Whether this machine has any part of an NVIDIA driver (device node, kernel module or user-space library). */
    static boolean driverInstalled() {
        for (String p : new String[] {"/dev/nvidiactl", "/proc/driver/nvidia/version",
            "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1", "/usr/lib/libcuda.so.1",
            "/usr/local/nvidia/lib64/libcuda.so.1"}) {
            if (Files.exists(Path.of(p))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void foundByServiceLoaderWithReason() {
        Backends.Info info = Backends.list().stream().filter(i -> i.name().equals("jcuda")).findFirst().orElseThrow();
        assertEquals(50, info.priority());
        Availability a = info.availability();
        if (a.available()) {
            assertTrue(a.devices().contains(Device.cuda(0)), a.toString());
            assertTrue(a.reason().contains("GEMM: "), a.reason());
        } else {
            assertFalse(a.reason().isBlank());
            assertTrue(a.devices().isEmpty());
            if (!driverInstalled()) {
                assertEquals("libcuda.so.1 not found", a.reason());
            }
        }
    }

    @Test
    void openingWithoutGpuExplainsWhy() {
        Availability a = new JCudaBackendProvider().probe();
        if (a.available()) {
            // on a GPU machine: the CPU is not one of its devices
            BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                    () -> Backends.open("jcuda", Device.CPU));
            assertTrue(e.getMessage().contains("cpu"), e.getMessage());
            return;
        }
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> Backends.open("jcuda", Device.cuda(0)));
        assertTrue(e.getMessage().contains(a.reason()), e.getMessage());
        // probing again (another provider instance) neither crashes nor changes the answer
        assertEquals(a, new JCudaBackendProvider().probe());
    }

    @Test
    void defaultSelectionForCudaSkipsCpuOnlyBackends() {
        Availability a = new JCudaBackendProvider().probe();
        if (a.available()) {
            try (var b = Backends.open(null, dev.visiontower.api.spi.BackendOptions.defaults()
                    .withDevice(Device.cuda(0)))) {
                assertEquals("jcuda", b.name());
            }
        } else {
            // no provider has cuda:0 here: the highest-priority provider is named in the error
            assertThrows(BackendUnavailableException.class, () -> Backends.open(null, Device.cuda(0)));
        }
    }

    @Test
    void nativeFileNamesMatchJCudasLoader() {
        assertEquals("libJCudaDriver-12.6.0-linux-x86_64.so", JCudaNatives.fileName(JCudaNatives.DRIVER));
        assertEquals("libJCublas2-12.6.0-linux-x86_64.so", JCudaNatives.fileName(JCudaNatives.CUBLAS));
    }

    @Test
    void missingLibraryIsNamedInTheReason() {
        UnsatisfiedLinkError inner = new UnsatisfiedLinkError(
                "/tmp/libJCublas2-12.6.0-linux-x86_64.so: libcublas.so.12: cannot open shared object file: No such file");
        assertEquals("libcublas.so.12 not found", JCudaNatives.reason(new RuntimeException("wrapped", inner)));
        assertEquals("IllegalStateException: boom", JCudaNatives.reason(new IllegalStateException("boom\nmore")));
    }
}
