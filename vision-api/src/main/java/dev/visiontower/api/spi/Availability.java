package dev.visiontower.api.spi;

import java.util.List;
import dev.visiontower.api.Device;

/**
 * The result of a provider's cheap probe: whether it can run here, and if not, why.
 *
 * @param available whether the backend can be opened
 * @param reason    a short human explanation ("libcuda.so.1 not found"); for available backends a description
 *                  such as the engine version
 * @param devices   the devices it can use here (empty when unavailable)
 */
public record Availability(boolean available, String reason, List<Device> devices) {

    public Availability {
        reason = reason == null ? "" : reason;
        devices = List.copyOf(devices);
    }

    public static Availability available(String detail, List<Device> devices) {
        return new Availability(true, detail, devices);
    }

    public static Availability unavailable(String reason) {
        return new Availability(false, reason, List.of());
    }
}
