package dev.visiontower.api.spi;

import dev.visiontower.api.Device;
import java.util.Map;

/**
 * Options for opening a backend.
 *
 * @param device  the device to bind to
 * @param threads intra-op threads (0 = the engine's default)
 * @param extra   engine-specific settings, documented by each backend
 */
public record BackendOptions(Device device, int threads, Map<String, String> extra) {

    public BackendOptions {
        if (device == null) {
            device = Device.CPU;
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
        extra = Map.copyOf(extra);
    }

    public static BackendOptions defaults() {
        return new BackendOptions(Device.CPU, 0, Map.of());
    }

    public BackendOptions withDevice(Device d) {
        return new BackendOptions(d, threads, extra);
    }

    public BackendOptions withThreads(int n) {
        return new BackendOptions(device, n, extra);
    }
}
