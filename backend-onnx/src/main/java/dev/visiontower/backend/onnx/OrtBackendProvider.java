package dev.visiontower.backend.onnx;

import ai.onnxruntime.OrtEnvironment;
import com.google.auto.service.AutoService;
import dev.visiontower.api.Backend;
import dev.visiontower.api.BackendUnavailableException;
import dev.visiontower.api.Device;
import dev.visiontower.api.spi.Availability;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.BackendProvider;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.OptionSpec;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** Provider of the {@code onnx} backend. Construction is free; ONNX Runtime loads in {@link #probe()}. */
@AutoService(BackendProvider.class)
public final class OrtBackendProvider implements BackendProvider {
    /** Name of the backend. */
    public static final String NAME = "onnx";
    private static volatile OrtEnvironment env;
    private static volatile Throwable failure;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 50;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.INFERENCE, Capability.FLOAT32, Capability.INT8, Capability.GRAPH_COMPILATION);
    }

    /**
     * The one ONNX Runtime environment of this JVM (ONNX Runtime allows one), created on first use. ONNX Runtime's
     * Linux builds start a telemetry client when the environment is created (it reads {@code /etc/machine-id} and the
     * process command line, and overflows the stack on command lines over about 4 KB, killing the JVM); it is switched
     * off first by setting {@code ORT_DISABLE_TELEMETRY=1} in the process environment, unless the user set that
     * variable.
     */
    static synchronized OrtEnvironment environment() {
        if (env == null && failure == null) {
            try {
                dev.visiontower.backend.onnx.internal.NativeEnvironment.setIfAbsent("ORT_DISABLE_TELEMETRY", "1");
            } catch (Throwable t) { // no JNA or libc here: ONNX Runtime still loads, with its default
                System.getLogger(OrtBackendProvider.class.getName()).log(System.Logger.Level.WARNING,
                        "cannot set ORT_DISABLE_TELEMETRY before ONNX Runtime starts: " + t);
            }
            try {
                env = OrtEnvironment.getEnvironment();
            } catch (Throwable t) { // natives that fail to load: report, never crash
                failure = t;
            }
        }
        return env;
    }

    @Override
    public Availability probe() {
        OrtEnvironment e = environment();
        if (e == null) {
            Throwable t = failure;
            return Availability.unavailable("ONNX Runtime failed to load: " + t.getClass().getSimpleName() + ": "
                    + t.getMessage());
        }
        return Availability.available("ONNX Runtime " + e.getVersion() + ", CPU execution provider; int8 weights in "
                + (ProductWeight.INT8_RANGE == 127 ? "8 bits (the CPU has VNNI)" : "7 bits (no VNNI: u8 x s8 products "
                + "could saturate)"), List.of(Device.CPU));
    }

    @Override
    public List<OptionSpec> options() {
        return List.of(
                OptionSpec.list(OrtBackend.FUSIONS_OPTION, "all", "ONNX Runtime's transformer operators in the "
                        + "blocks", "attention", "skip_layer_norm", "bias_gelu"),
                OptionSpec.bool(OrtBackend.SPIN_OPTION, false, "intra-op threads spin between operators instead of "
                        + "sleeping"));
    }

    @Override
    public Backend open(BackendOptions options) {
        OrtEnvironment e = environment();
        if (e == null) {
            throw new BackendUnavailableException("backend 'onnx' is not available: " + probe().reason());
        }
        return new OrtBackend(e, options);
    }
}
